"""The driver started early (smokegate.synthetic.early_driver): adopted by Playwright, or stopped.

Real Node drivers and a real Playwright: each test starts one and checks that the process it
started is the one Playwright talks to and stops, or that nothing of it is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright._impl import out_of_process
from playwright._impl.transport import PipeTransport

from smokegate.cpus import usable_cpus
from smokegate.synthetic.early_driver import EarlyDriver, Guess
from smokegate.testbed.control import RunningTestbed

pytest_plugins = ["pytester"]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0


def _round_trip(playwright: object) -> None:
    # A call the driver must answer: an API request context made and disposed of in Node.
    request = playwright.request.new_context()  # type: ignore[attr-defined]
    request.dispose()


def test_playwright_starts_on_the_driver_started_early_and_stops_it() -> None:
    early = EarlyDriver()
    early.spawn()
    assert early.proc is not None
    pid = early.proc.pid
    playwright = early.start_playwright()
    try:
        assert early.adopted_pid == pid and early.proc is None
        _round_trip(playwright)
    finally:
        playwright.stop()
    assert _gone(pid), "Playwright's stop ends the driver it adopted"
    assert out_of_process.PipeTransport is PipeTransport, "Playwright's own transport is put back"


def test_a_driver_that_died_is_left_and_playwright_starts_its_own() -> None:
    early = EarlyDriver()
    early.spawn()
    assert early.proc is not None
    early.proc.kill()
    early.proc.wait(timeout=5)
    playwright = early.start_playwright()
    try:
        assert early.adopted_pid is None
        _round_trip(playwright)
    finally:
        playwright.stop()


def test_another_playwright_starts_its_own_driver_and_the_early_one_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Changed(PipeTransport):  # type: ignore[misc]
        """A Playwright whose client no longer makes the transport this module knows."""

    monkeypatch.setattr(out_of_process, "PipeTransport", Changed)
    early = EarlyDriver()
    early.spawn()
    assert early.proc is not None
    pid = early.proc.pid
    playwright = early.start_playwright()
    try:
        assert early.adopted_pid is None and early.proc is None
        assert _gone(pid), "the driver nobody adopted is stopped"
        _round_trip(playwright)
    finally:
        playwright.stop()


def test_stop_ends_a_driver_nobody_adopted() -> None:
    early = EarlyDriver()
    early.spawn()
    assert early.proc is not None
    pid = early.proc.pid
    early.stop()
    assert _gone(pid) and not early.running
    early.stop()  # twice is harmless


def test_the_guess_is_the_last_run_with_the_same_selection(pytester: pytest.Pytester, tmp_path: Path) -> None:
    def guess(*args: str) -> Guess:
        return Guess(pytester.parseconfig(*args), directory=tmp_path / "browser-runs")

    assert not guess("tests/synthetic").expected()
    guess("tests/synthetic").record(True)
    assert guess("tests/synthetic").expected()
    assert not guess("tests/synthetic", "-k", "tls").expected(), "another -k is another selection"
    assert not guess("tests/synthetic", "-m", "safe").expected(), "another -m is another selection"
    assert not guess("tests/smoke").expected()
    guess("tests/synthetic").record(False)
    assert not guess("tests/synthetic").expected()


def test_a_cache_that_cannot_be_written_is_skipped(pytester: pytest.Pytester, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    guess = Guess(pytester.parseconfig("tests"), directory=blocked / "browser-runs")
    guess.record(True)
    assert not guess.expected()


BROWSER_CHECK = """
import os
import pytest
from smokegate.synthetic.fixtures import EARLY_DRIVER
pytestmark = pytest.mark.check(epic="synthetic")

@pytest.mark.safe
@pytest.mark.check(severity="high")
def test_opens_a_browser(playwright, pytestconfig):
    adopted = pytestconfig.stash[EARLY_DRIVER].adopted_pid is not None
    assert adopted == (os.environ["EXPECT_EARLY"] == "1"), f"adopted an early driver: {adopted}"
"""

HTTP_CHECK = """
import pytest
pytestmark = pytest.mark.check(epic="smoke")

@pytest.mark.safe
@pytest.mark.check(severity="high")
def test_health(probe):
    assert probe.get("/api/health").status == 200
"""


def test_a_run_starts_the_driver_early_when_its_selection_opened_a_browser_last_time(
    pytester: pytest.Pytester, healthy_testbed: RunningTestbed, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makefile(".toml", smokegate=f"""
[targets.local]
base_url = "{healthy_testbed.url}"
ca_bundle = "{healthy_testbed.ca_file}"
""")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    for folder, body in (("tests/synthetic", BROWSER_CHECK), ("tests/smoke", HTTP_CHECK)):
        (pytester.path / folder).mkdir(parents=True)
        (pytester.path / folder / "test_checks.py").write_text(body)
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / "cache"))
    guesses = pytester.path / "cache" / "smokegate" / "browser-runs"

    def run(expect_early: bool, *paths: str) -> None:
        monkeypatch.setenv("EXPECT_EARLY", "1" if expect_early else "0")
        pytester.runpytest_subprocess("--target", "local", *paths).assert_outcomes(passed=1)

    run(False, "tests/synthetic")  # the first run of a selection: no guess yet
    assert len(list(guesses.iterdir())) == 1
    run(usable_cpus() >= 2, "tests/synthetic")  # on one CPU the driver is started as usual
    run(False, "tests/synthetic", "-k", "opens")  # another selection
    run(False, "tests/smoke")
    assert len(list(guesses.iterdir())) == 2, "runs that opened no browser leave no guess"
