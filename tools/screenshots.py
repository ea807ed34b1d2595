"""``python tools/screenshots.py`` (``make screenshots``): pictures of the reports for the README.

Made by the demo machinery itself: the testbed, and the suite run against it.

* The gate report in its three states: a healthy run (PASS), a run with faults switched on (FAIL:
  a slow database, a broken page, two broken browser checks), and a run with the target down
  (FAIL, unreachable).  Each picture is what a reader sees on opening the page (1280x800).
* The daily report: twelve real smoke runs against the testbed, faults switched on in some of
  them, recorded into a fresh history two hours apart (the runs are real; only their times are
  spread over the day, so that one command shows what a day of monitoring looks like).

Pictures go to ``docs/`` (committed, shown in the README); the reports they show stay in
``build/screenshots/``.  Chromium is the system's (``/usr/bin/chromium``), else Playwright's own;
nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smokegate.testbed.control import RunningTestbed

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
GATE_CHECKS = [
    "tests/smoke",
    "tests/synthetic/test_page_load.py",
    "tests/synthetic/test_sign_in.py::test_dashboard_redirects_signed_out_visitor",
]
GATE_STATES = {
    "pass": [],
    "fail": ["health-db-slow", "page-500", "dashboard-public", "uncaught-exception"],
    "unreachable": ["target-down"],
}
# One smoke run every two hours over the last day: a slow database for two runs (an incident),
# later a broken page once.
DAY = ["", "", "", "", "health-slow", "health-slow", "", "", "", "page-500", "", ""]
DAY_STEP = timedelta(hours=2)
FULL_HEIGHT = 1500


def _pytest(testbed: RunningTestbed, paths: list[str], reports: Path, *extra: str) -> dict[str, Any]:
    from smokegate.testbed.suite_env import testbed_environment

    if reports.exists():
        shutil.rmtree(reports)
    command = [
        sys.executable, "-m", "pytest", *paths, "--target", "local", "--base-url", testbed.url,
        "--ca-bundle", testbed.ca_file, "--http-url", testbed.http_url, "--expect-version", testbed.version,
        "--reports-dir", str(reports), "-p", "no:cacheprovider", "-q", *extra,
    ]
    env = {**os.environ, **testbed_environment(testbed)}
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                   check=False)
    return dict(json.loads((reports / "gate.json").read_text()))


def _record_day(testbed: RunningTestbed, history_path: Path, now: datetime) -> None:
    """Real smoke runs, recorded into a fresh history at two-hour intervals ending now."""
    from smokegate.ops.history import History

    incident: str | None = None
    with History.open(history_path) as history:
        for index, fault in enumerate(DAY):
            testbed.set_faults([fault] if fault else [])
            gate = _pytest(testbed, ["tests/smoke"], BUILD / "day-run", "--no-history")
            finished = now - DAY_STEP * (len(DAY) - 1 - index)
            started = finished - timedelta(seconds=float(gate.get("duration_s") or 0))
            gate["started_at"] = started.isoformat(timespec="seconds")
            gate["finished_at"] = finished.isoformat(timespec="seconds")
            failing = gate["verdict"] == "fail"
            incident = (incident or f"INC-{finished:%Y%m%dT%H%MZ}-local-demo") if failing else None
            history.record_gate(gate, run_id=f"demo-day-{index:02d}", scheduled=True, incident_id=incident)
            print(f"  day run {index + 1}/{len(DAY)} ({fault or 'healthy'}): {gate['verdict']}", flush=True)
    testbed.set_faults([])


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None  # Playwright's own, if installed


def _shoot(pages: list[tuple[Path, Path, bool]]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            for source, picture, full in pages:
                context = browser.new_context(viewport={"width": 1280, "height": 800}, offline=True)
                page = context.new_page()
                page.goto(source.as_uri(), wait_until="load")
                page.wait_for_load_state("networkidle")
                if full:  # the top of a long page: its figures and charts, not every table row
                    page.screenshot(path=str(picture), full_page=True,
                                    clip={"x": 0, "y": 0, "width": 1280, "height": FULL_HEIGHT})
                else:
                    page.screenshot(path=str(picture))
                context.close()
                print(f"  {picture.relative_to(ROOT)}", flush=True)
        finally:
            browser.close()


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    BUILD.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[Path, Path, bool]] = []
    with RunningTestbed.start(Path(tempfile.mkdtemp(prefix="smokegate-screenshots-"))) as testbed:
        print(f"testbed: {testbed.url}", flush=True)
        for state, faults in GATE_STATES.items():
            testbed.set_faults(faults)
            gate = _pytest(testbed, GATE_CHECKS, BUILD / state, "--no-history")
            print(f"  gate report, {state}: verdict {gate['verdict']}", flush=True)
            shots.append((BUILD / state / "report.html", DOCS / f"gate-report-{state}.png", False))
        history = BUILD / "day-history.sqlite"
        history.unlink(missing_ok=True)
        _record_day(testbed, history, datetime.now(UTC))
    from smokegate.ops.health_report import write_report

    daily = write_report(history, BUILD / "health-report-24h.html", since=timedelta(hours=24))
    shots.append((daily, DOCS / "daily-report.png", True))
    _shoot(shots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
