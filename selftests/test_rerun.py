"""Running the suite twice in a row gives the same verdict as running it once (issue 19).

A rerun inside the target's rate-limit window used to turn the limiter's 429 into findings of checks
that are not about rate limiting ("malformed JSON answered 429; expected 400/415/422").  The probe now
waits once for the ``Retry-After`` such an answer asks for and asks again (smokegate.intercepted), so
the checks judge the app, not its limiter.

Two runs of the smoke and security suites back to back, the second starting inside an exhausted
waitlist window: the same verdict, the same outcome for every check (the whole suite back to back
on a healthy testbed, whose lift check closes its own window, is the easier case of the same test).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.security import RATE_LIMIT, RATE_LIMITED_PATH, RATE_WINDOW_S

from .conftest import SuiteRun, cli_for, env_for, run_suite, suite_paths
from .open_window import ENV

pytestmark = pytest.mark.selftest_slow

ROUTE_CHECKS = ("security/test_input_validation.py::test_malformed_json_rejected[waitlist]",
                "security/test_input_validation.py::test_wrong_types_rejected[waitlist]",
                "security/test_input_validation.py::test_wrong_content_type_rejected[waitlist]")


def _no_429_findings(run: SuiteRun) -> None:
    findings = {c["check"]: c["message"] for c in run.gate["failed"] if "429" in (c["message"] or "")}
    assert not findings, f"429s judged as findings: {findings}"


def _requests(run: SuiteRun, check: str) -> int:
    return next(int(c["requests"]) for c in run.gate["checks"] if c["check"] == check)


def test_two_back_to_back_runs_give_the_same_verdict_inside_the_rate_limit_window(
    healthy_testbed: RunningTestbed, tmp_path: Path
) -> None:
    args = [*suite_paths(("smoke", "security")), *cli_for(healthy_testbed)]
    first = run_suite(args, tmp_path / "first", env=env_for(healthy_testbed))
    window = f"{healthy_testbed.url}{RATE_LIMITED_PATH}|{healthy_testbed.ca_file}|{RATE_WINDOW_S}|{RATE_LIMIT + 1}"
    second = run_suite([*args, "-p", "selftests.open_window"], tmp_path / "second",
                       env={**env_for(healthy_testbed), ENV: window})
    # The first run is also the healthy Python testbed's single-process proof for these suites: every check passes.
    not_passed = {c: o for c, o in first.outcomes.items() if o != "passed"}
    assert first.gate.get("verdict") == "pass" and not not_passed, f"{not_passed}\n{first.output[-3000:]}"
    assert second.gate.get("verdict") == "pass", second.output[-3000:]
    assert second.outcomes == first.outcomes
    _no_429_findings(second)
    # The window was open: the first check on the route met the 429, waited and asked again.
    assert max(_requests(second, check) for check in ROUTE_CHECKS) == 2, [
        (check, _requests(second, check)) for check in ROUTE_CHECKS]
    assert all(_requests(first, check) == 1 for check in ROUTE_CHECKS)
