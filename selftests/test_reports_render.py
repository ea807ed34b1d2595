"""The gate report and the health report, from real runs, opened in a real Chromium.

A small part of the suite (reachability, health, pages, three browser checks) runs against the
testbed three times: healthy (PASS), with faults switched on (FAIL: a budget, a broken contract,
and two browser checks, one of them judging page loads another check made), and with the target
down (FAIL, unreachable); a fourth run stops on a usage error over a stale report.  The three runs
share one history, from which the daily health report is rendered.  Each page is opened at
1280x800: the verdict banner is visible without scrolling, no text box overlaps another or a
chart's bar, every link to a file resolves to a file on disk, and no secret of the testbed appears
in any file the runs wrote.
"""

from __future__ import annotations

import fcntl
import html
import json
import re
import shutil
import zipfile
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from selftests.render_checks import VIEWPORT, local_links, overlaps, resolve, secret_hits
from smokegate.failures import FailureKind
from smokegate.plugin.allure_results import CATEGORIES_FILE
from smokegate.testbed import fake_secrets, idp
from smokegate.testbed.control import RunningTestbed

from .conftest import SuiteRun, cli_for, env_for, run_suite

pytestmark = pytest.mark.selftest_slow

CHECKS = [
    "tests/smoke/test_reachability.py",
    "tests/smoke/test_health.py",
    "tests/smoke/test_pages.py",
    # The first loads /, the second judges those same loads (it borrows their evidence).
    "tests/synthetic/test_page_load.py::test_page_loads_within_budget[landing-chromium]",
    "tests/synthetic/test_page_load.py::test_page_throws_no_uncaught_exceptions[landing-chromium]",
    "tests/synthetic/test_sign_in.py::test_dashboard_redirects_signed_out_visitor",
]
FAULTS = {
    "pass": [],
    "fail": ["health-db-slow", "page-500", "dashboard-public", "uncaught-exception"],
    "unreachable": ["target-down"],
}
VERDICTS = {"pass": ("pass", 0), "fail": ("fail", 1), "unreachable": ("fail", 1), "usage": ("error", 4)}
BROWSER_CHECK = "synthetic/test_sign_in.py::test_dashboard_redirects_signed_out_visitor"
BORROWING_CHECK = "synthetic/test_page_load.py::test_page_throws_no_uncaught_exceptions[landing]"


@dataclass
class Runs:
    runs: dict[str, SuiteRun]
    daily: Path
    root: Path


def _make_runs(testbed: RunningTestbed, root: Path) -> Runs:
    history = root / "history.sqlite"
    done: dict[str, SuiteRun] = {}
    try:
        for state, faults in FAULTS.items():
            testbed.set_faults(faults)
            # A healthy run keeps no browser evidence, so it skips the browser (the slowest part).
            checks = CHECKS if state != "pass" else [c for c in CHECKS if c.startswith("tests/smoke")]
            done[state] = run_suite([*checks, *cli_for(testbed), "--history", str(history)], root / state,
                                    env=env_for(testbed), timeout=300)
    finally:
        testbed.set_faults([])
    # A usage error over the reports of an earlier passing run: the old PASS page must not survive.
    stale = root / "usage"
    shutil.copytree(root / "pass", stale, ignore=shutil.ignore_patterns("history.sqlite*"))
    done["usage"] = run_suite([CHECKS[0], "--target", "nosuch"], stale, timeout=120)

    from smokegate.ops.health_report import write_report

    daily = write_report(history, root / "daily" / "health-report-24h.html", since=timedelta(hours=24))
    return Runs(done, daily, root)


@pytest.fixture(scope="module")
def runs(testbed: RunningTestbed, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Runs:
    """The four runs, made once per self-test session even when xdist spreads this module's tests
    over several workers: the first worker makes them under a file lock, the others read them.
    (pytest-xdist's --dist loadgroup would be the tool, but it renames node ids through an
    attribute pytest 9 no longer reads, so its groups are silently ignored here.)"""
    if worker_id == "master":
        return _make_runs(testbed, tmp_path_factory.mktemp("report-runs"))
    shared = tmp_path_factory.getbasetemp().parent / "report-runs"
    shared.mkdir(exist_ok=True)
    done = shared / "runs.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                made = _make_runs(testbed, shared)
                done.write_text(json.dumps({
                    "runs": {state: {**asdict(run), "reports_dir": str(run.reports_dir)}
                             for state, run in made.runs.items()},
                    "daily": str(made.daily),
                }))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    data = json.loads(done.read_text())
    runs = {state: SuiteRun(**{**run, "reports_dir": Path(run["reports_dir"])}) for state, run in data["runs"].items()}
    return Runs(runs, Path(data["daily"]), shared)


def _open(browser: Any, path: Path) -> Any:
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load", timeout=15_000)
    # pytest-html builds its results table in script after load.
    page.wait_for_load_state("networkidle", timeout=15_000)
    return page


def _report(runs: Runs, state: str) -> Path:
    return runs.runs[state].reports_dir / "report.html"


@pytest.mark.parametrize("state", list(VERDICTS))
def test_the_report_states_the_runs_one_verdict(runs: Runs, state: str) -> None:
    run = runs.runs[state]
    verdict, code = VERDICTS[state]
    assert (run.gate["verdict"], run.returncode) == (verdict, code), run.output[-3000:]
    page = _report(runs, state).read_text(encoding="utf-8")
    assert f'data-verdict="{verdict}"' in page
    assert page.count('class="sg-word"') == 1


@pytest.mark.parametrize("state", list(VERDICTS))
def test_the_page_opens_on_its_verdict_and_nothing_overlaps(runs: Runs, report_browser: Any, state: str) -> None:
    page = _open(report_browser, _report(runs, state))
    try:
        banner = page.locator("#sg-verdict")
        box = banner.bounding_box()
        assert box is not None
        assert box["y"] >= 0
        assert box["y"] + box["height"] <= VIEWPORT["height"], f"banner ends at {box['y'] + box['height']:.0f} px"
        assert page.locator("#sg-verdict .sg-word").inner_text() == VERDICTS[state][0].upper()
        assert banner.is_visible()
        clashes = overlaps(page)
        assert not clashes, f"{len(clashes)} overlapping boxes, e.g. {clashes[:3]}"
        if state in ("fail", "unreachable"):
            # The decisive checks start on the first screen, right under the banner.
            first = page.locator("#sg-decisive li").first.bounding_box()
            assert first is not None
            assert first["y"] < VIEWPORT["height"]
        if state != "usage":
            # Environment and plugin tables come after the results.
            results = page.locator("#results-table").bounding_box()
            environment = page.locator("#environment").bounding_box()
            assert results is not None
            assert environment is not None
            assert environment["y"] > results["y"]
    finally:
        page.context.close()


@pytest.mark.parametrize("state", ["fail", "usage"])
def test_the_page_fits_a_narrow_window_and_its_check_names_read_dark(
    runs: Runs, report_browser: Any, state: str
) -> None:
    """800 px (half a laptop screen): nothing runs off the right edge; the check names are text, not pale
    grey; pytest-html's filter of setup/teardown errors does not read as another count of ERROR."""
    context = report_browser.new_context(viewport={"width": 800, "height": 800}, offline=True)
    page = context.new_page()
    try:
        page.goto(_report(runs, state).as_uri(), wait_until="load", timeout=15_000)
        page.wait_for_load_state("networkidle", timeout=15_000)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 800, f"the page is {width} px wide in an 800 px window"
        banner = page.locator("#sg-verdict").bounding_box()
        assert banner is not None and banner["x"] + banner["width"] <= 800
        if state == "usage":
            return
        colour = page.eval_on_selector("#results-table td.col-testId", "e => getComputedStyle(e).color")
        red, green, blue = (int(v) for v in colour.removeprefix("rgb(").removesuffix(")").split(","))
        assert max(red, green, blue) < 80, f"check names drawn in {colour}"
        filters = page.locator(".filters").inner_text()
        assert "Setup/teardown errors" in filters
        assert not re.search(r"\d+ Errors", filters), filters
    finally:
        context.close()


def test_the_failing_report_lists_the_blocking_checks(runs: Runs, report_browser: Any) -> None:
    gate = runs.runs["fail"].gate
    blocking = {c["check"]: c for c in gate["failed"] if c["blocking"]}
    assert set(blocking) == {
        "smoke/test_health.py::test_database_latency_within_budget",
        "smoke/test_pages.py::test_page_answers_200[pricing]",
        BROWSER_CHECK,
        BORROWING_CHECK,
    }, runs.runs["fail"].output[-3000:]
    # The 500 page lacks its text because it is an error page: one finding, the text check its consequence.
    page_500 = "smoke/test_pages.py::test_page_answers_200[pricing]"
    text_id = "smoke/test_pages.py::test_page_shows_expected_text[pricing]"
    text_check = next(c for c in gate["failed"] if c["check"] == text_id)
    assert text_check["consequence_of"] == page_500 and not text_check["blocking"]
    assert blocking[page_500]["consequences"] == [text_check["check"]]
    path = _report(runs, "fail")
    page = _open(report_browser, path)
    try:
        items = page.locator("#sg-decisive li.blocking")
        assert items.count() == len(blocking)
        finding = page.locator('#sg-decisive li[data-check="smoke/test_pages.py::test_page_answers_200[pricing]"]')
        assert "also failing (1)" in finding.inner_text() and "test_page_shows_expected_text" in finding.inner_text()
        for check, data in blocking.items():
            item = page.locator(f'#sg-decisive li[data-check="{check}"]')
            text = item.inner_text()
            assert data["severity"] in text
            assert data["failure_kind"] in text
            assert data["message"].split("\n")[0][:60] in text
        # A budget failure shows its bar: 300 ms of a 100 ms budget, near the end of the log scale.
        budget = page.locator('#sg-decisive li[data-check$="test_database_latency_within_budget"]')
        assert "300 % of budget" in budget.inner_text()
        position = float(budget.locator("svg.ratio").get_attribute("data-position") or 0)
        assert 0.9 < position < 1.0
        # The browser check that failed in its own context links all four kinds of evidence...
        links = page.locator(f'#sg-decisive li[data-check="{BROWSER_CHECK}"] a.evidence')
        assert sorted(links.all_inner_texts()) == ["console log", "failed requests", "screenshot", "trace"]
        # ...and so does the one that judged the untraced page-load samples: its failure made one more,
        # traced, load of the page (smokegate.plugin.evidence), whose evidence it links.
        borrowed = page.locator(f'#sg-decisive li[data-check="{BORROWING_CHECK}"] a.evidence').all_inner_texts()
        assert sorted(borrowed) == ["console log", "failed requests", "screenshot", "trace"]
        hrefs = local_links(page)
        assert len(hrefs) >= 6
        missing = [h for h in hrefs if not resolve(h, path.parent).is_file()]
        assert not missing, f"links to files that do not exist: {missing}"
    finally:
        page.context.close()


def test_the_evidence_is_what_it_says(runs: Runs) -> None:
    folder = runs.runs["fail"].reports_dir / "playwright"
    dashboard = next(p for p in folder.iterdir() if "dashboard-redirects" in p.name)
    assert (dashboard / "test-failed-1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with zipfile.ZipFile(dashboard / "trace.zip") as trace:  # what `playwright show-trace` opens
        assert any(name.endswith(".trace") for name in trace.namelist())
    borrowing = next(p for p in folder.iterdir() if "uncaught-exceptions" in p.name)
    console = (borrowing / "console.log").read_text()
    assert "uncaught exception: Cannot read properties of undefined" in console
    assert "loads made by tests/synthetic/test_page_load.py::test_page_loads_within_budget" in console
    # Passing checks keep nothing (no --tracing on): only the failed browser checks have a folder.
    assert sorted(p.name for p in folder.iterdir()) == sorted([dashboard.name, borrowing.name])


def test_failure_text_is_the_checks_message_not_its_source(runs: Runs, report_browser: Any) -> None:
    page = _open(report_browser, _report(runs, "fail"))
    try:
        page.click("#show_all_details")
        text = page.locator("#results-table").inner_text()
        assert "database latency reported by health 300 ms > budget 100 ms" in text
        for source in ("def test_", "Target(name=", "check_record =", "assert not ", "AssertionError"):
            assert source not in text, f"{source!r} in the failure text"
    finally:
        page.context.close()


def test_an_unreachable_target_is_explained_once(runs: Runs, report_browser: Any) -> None:
    run = runs.runs["unreachable"]
    reason = run.gate["reason"]
    assert reason.startswith("target unreachable: ")
    page = _open(report_browser, _report(runs, "unreachable"))
    try:
        page.click("#show_all_details")
        text = page.locator("body").inner_text()
        skipped = len(run.with_outcome("skipped"))
        assert skipped >= 10
        # Banner, blocking list and the reachability check's own row: never once per skipped check.
        assert text.count(reason.removeprefix("target unreachable: ")) == 3
        assert text.count("Not run: the target cannot be tested") == skipped
        assert "Skipped: " not in text
        assert "', " not in text  # no raw (path, line, reason) tuples
    finally:
        page.context.close()


def test_a_usage_error_replaces_the_stale_report(runs: Runs) -> None:
    run = runs.runs["usage"]
    page = html.unescape(_report(runs, "usage").read_text(encoding="utf-8"))
    assert "unknown target 'nosuch'" in page
    assert 'data-verdict="pass"' not in page
    assert "PASS" not in page
    assert run.gate["error_kind"] == "usage"


def test_allure_groups_failures_by_kind(runs: Runs) -> None:
    results = runs.runs["fail"].reports_dir / "allure-results"
    categories = json.loads((results / CATEGORIES_FILE).read_text())
    by_regex = [(c["name"], re.compile(c["messageRegex"])) for c in categories if "messageRegex" in c]
    assert len(by_regex) == len(FailureKind)
    kinds = {c["check"]: c["failure_kind"] for c in runs.runs["fail"].gate["failed"]}
    seen = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        check = next(label["value"] for label in result["labels"] if label["name"] == "smokegate_check")
        if result["status"] not in ("failed", "broken"):
            continue
        matched = [name for name, regex in by_regex if regex.fullmatch(result["statusDetails"]["message"])]
        assert matched == [next(n for n in (c["name"] for c in categories) if n.startswith(kinds[check] + " "))]
        seen[check] = result
    assert set(seen) == set(kinds)
    attachments = {a["name"] for a in seen[BROWSER_CHECK]["attachments"]}
    assert {"console messages", "failed requests", "Playwright trace (trace.zip)"} <= attachments
    assert any(a["type"] == "image/png" for a in seen[BROWSER_CHECK]["attachments"])


def test_the_daily_report_of_these_runs_renders_cleanly(runs: Runs, report_browser: Any) -> None:
    page = _open(report_browser, runs.daily)
    try:
        card = page.locator('.card[data-target="local"]')
        assert card.locator('[data-metric="runs"]').inner_text() == "3"
        assert card.locator('[data-metric="availability"]').inner_text() == "33.333 %"
        clashes = overlaps(page)
        assert not clashes, f"{len(clashes)} overlapping boxes, e.g. {clashes[:3]}"
    finally:
        page.context.close()


def test_no_secret_in_any_file_the_runs_wrote(runs: Runs) -> None:
    secrets = [*fake_secrets.env().values(), *idp.account_env().values()]
    secrets = [s for s in secrets if len(s) >= 8]
    assert len(secrets) >= 8
    hits = secret_hits([runs.root], secrets)
    assert not hits, f"secrets in {len(hits)} file(s): {hits[:10]}"
