"""``python tools/demo.py`` (``make demo``): start the testbed, run the whole suite against it, print the verdict.

This is what ``make demo`` runs on a fresh machine.  The testbed gets free loopback ports, so a
second demo (or a testbed left running) never collides with this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.suite_env import SUITES, testbed_environment

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    reports = ROOT / "reports"
    state_dir = Path(tempfile.mkdtemp(prefix="smokegate-testbed-"))
    suites = [s for s in SUITES if any((ROOT / s).glob("test_*.py"))]
    with RunningTestbed.start(state_dir) as testbed:
        print(f"testbed: {testbed.url} (HTTP {testbed.http_url}, CA {testbed.ca_file})", flush=True)
        command = [
            sys.executable, "-m", "pytest", *suites, "--target", "local", "--base-url", testbed.url,
            "--ca-bundle", testbed.ca_file, "--http-url", testbed.http_url, "--expect-version", testbed.version,
            "--reports-dir", str(reports), "-p", "no:cacheprovider", *args,
        ]
        env = {**os.environ, **testbed_environment(testbed)}
        code = subprocess.call(command, cwd=ROOT, env=env)
    gate_file = reports / "gate.json"
    if gate_file.exists():
        gate = json.loads(gate_file.read_text())
        counts = gate["counts"]
        print(
            f"\nVERDICT: {gate['verdict'].upper()} — {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped, {counts['deselected']} deselected; {gate['requests_sent']} requests "
            f"in {gate['duration_s']:.1f} s"
        )
        print(f"reports: {reports / 'report.html'}\n         {gate_file}\n         {reports / 'summary.md'}")
    history = reports / "history.sqlite"
    if history.exists():
        from datetime import timedelta

        from smokegate.ops.health_report import write_report

        daily = write_report(history, reports / "health-report-24h.html", since=timedelta(hours=24))
        print(f"daily health report (last 24 h, this run included): {daily}")
    return code


if __name__ == "__main__":
    sys.exit(main())
