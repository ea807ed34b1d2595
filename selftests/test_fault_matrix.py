"""Every check passes on the healthy testbed and fails on the fault meant for it, and only there.

The fault catalog is the contract: with a fault on, exactly the checks it names fail (with a
message) and every other check run beside them passes, or is skipped when the fault takes the
whole target down.  Each fault runs the whole smoke suite and the security and synthetic modules
holding its checks; the healthy run covers every suite.  A check that no fault makes fail could
not fail at all: that is a bug too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smokegate.testbed import faults
from smokegate.testbed.control import RunningTestbed

from .conftest import SUITES, SuiteRun, cli_for, env_for, run_suite, suite_paths

pytestmark = pytest.mark.selftest_slow


def _function(check: str) -> str:
    return re.sub(r"\[.*\]$", "", check)


def test_healthy_testbed_passes_every_check(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    run = run_suite([*suite_paths(SUITES), *cli_for(healthy_testbed)], tmp_path, env=env_for(healthy_testbed))
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed"}
    assert run.gate.get("verdict") == "pass" and not not_passed, (
        f"false alarms on the healthy testbed: {not_passed}\n{run.output[-3000:]}"
    )
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize("fault", list(faults.CATALOG.values()), ids=list(faults.CATALOG))
def test_fault_fails_exactly_its_checks(fault: faults.Fault, testbed: RunningTestbed, tmp_path: Path) -> None:
    testbed.set_faults([fault.name])
    try:
        paths = [f"tests/{path}" for path in fault.test_paths]
        run = run_suite([*paths, *cli_for(testbed)], tmp_path, env=env_for(testbed))
    finally:
        testbed.set_faults([])
    _assert_exactly_its_checks_failed(fault, run)


# Faults whose catching depends on what the run's processes share: the error-rate burst against
# latency samples, the rate-limit burst once per run and its wait joined on any worker.
XDIST_FAULTS = ("error-5pct", "ratelimit-stuck", "ratelimit-no-retry-after")


def test_healthy_testbed_passes_every_check_under_xdist(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    """Two workers (smokegate.distribute, smokegate.shared): the same verdict, no false alarm.

    Without the load check: its peak would share this machine's two cores, and the testbed's, with the
    other worker's browsers and TLS scans (a deployment under test is elsewhere); it runs in the
    single-process healthy run, and its own distribution is proven in test_load_run.py."""
    suites = [suite for suite in SUITES if suite != "load"]
    run = run_suite([*suite_paths(suites), *cli_for(healthy_testbed), "-n", "2"], tmp_path,
                    env=env_for(healthy_testbed))
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed"}
    assert run.gate.get("verdict") == "pass" and not not_passed, (
        f"false alarms on the healthy testbed under xdist: {not_passed}\n{run.output[-3000:]}"
    )
    assert len(run.outcomes) > 150, run.output[-3000:]


@pytest.mark.parametrize("name", XDIST_FAULTS)
def test_fault_fails_exactly_its_checks_under_xdist(name: str, testbed: RunningTestbed, tmp_path: Path) -> None:
    fault = faults.CATALOG[name]
    testbed.set_faults([fault.name])
    try:
        paths = [f"tests/{path}" for path in fault.test_paths]
        run = run_suite([*paths, *cli_for(testbed), "-n", "2"], tmp_path, env=env_for(testbed))
    finally:
        testbed.set_faults([])
    _assert_exactly_its_checks_failed(fault, run)


def _assert_exactly_its_checks_failed(fault: faults.Fault, run: SuiteRun) -> None:
    failed = run.with_outcome("failed")
    expected = set(fault.catches)
    assert failed == expected, (
        f"fault {fault.name}: not caught by {sorted(expected - failed)}; "
        f"false alarms {sorted(failed - expected)}\n{run.output[-3000:]}"
    )
    for check in expected:
        assert run.message(check).strip(), f"{check} failed without a message"
    skipped = {c: o for c, o in run.outcomes.items() if c in fault.skips}
    assert skipped == dict.fromkeys(fault.skips, "skipped"), (
        f"fault {fault.name}: these checks lose their input and must be skipped, not judged: {skipped}")
    others = {c: o for c, o in run.outcomes.items() if c not in expected and c not in fault.skips}
    # A fault that takes the target down leaves the other checks skipped, except those that can
    # still diagnose it (TLS scans), which may pass; none may fail.
    allowed = {"passed"} if fault.others == "pass" else {"skipped", "passed"}
    wrong = {c: o for c, o in others.items() if o not in allowed}
    assert not wrong, f"fault {fault.name}: other checks should have {fault.others}ed: {wrong}"
    if fault.others == "skip":
        assert "skipped" in others.values(), f"fault {fault.name} should have left checks skipped: {others}"
    assert run.gate["verdict"] == "fail" or all(
        c["severity"] not in ("critical", "high") for c in run.gate["failed"]
    ), run.gate


def test_every_check_has_a_fault_that_catches_it(tmp_path: Path) -> None:
    """Collect the suites and compare their check functions with the catalog's."""
    import subprocess
    import sys

    from .conftest import ROOT

    ca = tmp_path / "ca.pem"
    ca.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *suite_paths(SUITES),
         "--target", "local", "--reports-dir", str(tmp_path / "reports"), "--ca-bundle", "system"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    collected = {
        _function(line.split("tests/", 1)[1]) for line in done.stdout.splitlines() if line.startswith("tests/")
    }
    assert collected, done.stdout + done.stderr
    caught = {_function(check) for fault in faults.CATALOG.values() for check in fault.catches}
    assert not collected - caught, f"checks no fault can make fail: {sorted(collected - caught)}"
    assert not caught - collected, f"catalog names checks that do not exist: {sorted(caught - collected)}"
