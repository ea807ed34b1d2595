"""The guide's warning signs raise a failed check's severity one step, in gate.json and its message."""

from __future__ import annotations

import json

import pytest

from smokegate.checks import warning_signs
from smokegate.checks.warning_signs import ERROR_RATE_INCREASE, SLOW_RESPONSE
from smokegate.testbed.control import RunningTestbed

pytest_plugins = ["pytester"]

CHECKS = '''
import pytest
from smokegate.checks.warning_signs import SLOW_RESPONSE
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]

@pytest.mark.check(severity="high")
def test_very_slow(check_record):
    check_record.measure(6200, 500, warning_sign=SLOW_RESPONSE)
    assert False, "6200 ms > budget 500 ms"

@pytest.mark.check(severity="high")
def test_slow(check_record):
    check_record.measure(900, 500, warning_sign=SLOW_RESPONSE)
    assert False, "900 ms > budget 500 ms"

@pytest.mark.check(severity="medium")
def test_passes_past_the_sign(check_record):
    # A budget set above the sign: the check passes, and a passed check keeps its severity.
    check_record.measure(5200, 8000, warning_sign=SLOW_RESPONSE)
'''


def test_a_failed_check_past_a_warning_sign_is_one_step_more_severe(
    pytester: pytest.Pytester, healthy_testbed: RunningTestbed
) -> None:
    pytester.makefile(".toml", smokegate=f"""
[targets.stage]
base_url = "{healthy_testbed.url}"
ca_bundle = "{healthy_testbed.ca_file}"
""")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    (pytester.path / "tests" / "smoke").mkdir(parents=True)
    (pytester.path / "tests" / "smoke" / "test_checks.py").write_text(CHECKS)
    pytester.runpytest_subprocess("--target", "stage", "tests")
    gate = json.loads((pytester.path / "reports" / "gate.json").read_text())
    checks = {c["check"].rsplit("::", 1)[1]: c for c in gate["checks"]}
    very_slow = checks["test_very_slow"]
    assert very_slow["severity"] == "critical" and very_slow["details"]["declared_severity"] == "high"
    assert "slow response times (> 5 s)" in very_slow["message"]
    assert "raised from high to critical" in very_slow["message"]
    assert checks["test_slow"]["severity"] == "high" and "raised" not in checks["test_slow"]["message"]
    assert checks["test_passes_past_the_sign"]["severity"] == "medium"
    assert gate["failed"][0]["check"].endswith("test_very_slow")  # most severe first


def test_signs_and_steps() -> None:
    assert SLOW_RESPONSE.exceeded(5001, "ms") and not SLOW_RESPONSE.exceeded(5000, "ms")
    assert ERROR_RATE_INCREASE.exceeded(5.1, "%") and not ERROR_RATE_INCREASE.exceeded(5.0, "%")
    with pytest.raises(ValueError, match="in ms"):
        SLOW_RESPONSE.exceeded(6, "s")
    assert [warning_signs.raised(s) for s in ("low", "medium", "high", "critical")] == [
        "medium", "high", "critical", "critical"]
