"""Gate logic: what blocks a deployment, and what gate.json says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smokegate.gate import CheckResult, GateReport, write_json_atomic
from smokegate.reporting import failure_kind, summary_markdown


def gate_with(*results: CheckResult, gate_on: str = "high") -> GateReport:
    gate = GateReport(gate_on=gate_on, target_name="staging", base_url="https://staging.test")
    for result in results:
        gate.add(result)
    gate.finalize()
    return gate


@pytest.mark.parametrize(
    ("severity", "gate_on", "verdict"),
    [("critical", "high", "fail"), ("high", "high", "fail"), ("medium", "high", "pass"), ("low", "high", "pass"),
     ("medium", "medium", "fail"), ("low", "critical", "pass"), ("critical", "critical", "fail")],
)
def test_failure_blocks_at_or_above_the_gate_level(severity: str, gate_on: str, verdict: str) -> None:
    gate = gate_with(CheckResult("smoke/a", "failed", severity=severity), gate_on=gate_on)
    assert gate.verdict == verdict
    assert gate.exit_code() == (0 if verdict == "pass" else 1)


def test_required_check_skipped_blocks_and_optional_skip_does_not() -> None:
    assert gate_with(CheckResult("a", "skipped", required=True)).verdict == "fail"
    assert gate_with(CheckResult("a", "skipped", required=False)).verdict == "pass"


def test_skipped_is_never_counted_as_passed() -> None:
    gate = gate_with(CheckResult("a", "passed"), CheckResult("b", "skipped", severity="critical"))
    counts = gate.counts()
    assert (counts["passed"], counts["skipped"]) == (1, 1)
    assert counts["by_severity"]["critical"] == {"passed": 0, "failed": 0, "skipped": 1}


def test_a_run_that_could_not_test_fails_even_with_no_failed_check() -> None:
    gate = gate_with(CheckResult("a", "skipped"))
    gate.reason = "target unreachable: connection refused"
    assert gate.verdict == "fail"


def test_gate_json_lists_failed_checks_most_severe_first_with_measured_and_budget(tmp_path: Path) -> None:
    gate = gate_with(
        CheckResult("smoke/low", "failed", severity="low", measured=3, budget=1, unit="%"),
        CheckResult("smoke/page", "failed", severity="critical", measured=2512.4, budget=2000, unit="ms"),
        CheckResult("smoke/ok", "passed", requests=7),
    )
    gate.extra_requests = 1
    write_json_atomic(tmp_path / "gate.json", gate.as_dict())
    data = json.loads((tmp_path / "gate.json").read_text())
    assert [c["check"] for c in data["failed"]] == ["smoke/page", "smoke/low"]
    assert data["failed"][0]["measured"] == 2512.4 and data["failed"][0]["budget"] == 2000
    assert data["requests_sent"] == 8
    assert data["verdict"] == "fail" and data["counts"]["blocking"] == 1


def test_summary_names_the_failed_checks_with_measured_vs_budget(tmp_path: Path) -> None:
    gate = gate_with(CheckResult("smoke/test_pages.py::x[pricing]", "failed", severity="high",
                                 measured=2512.4, budget=2000, unit="ms", message="/pricing median 2512 ms"))
    text = summary_markdown(gate, tmp_path)
    assert "FAIL" in text
    assert "| high (blocking) | `smoke/test_pages.py::x[pricing]` | 2512 ms / budget 2000 ms |" in text


@pytest.mark.parametrize(
    ("result", "longtext", "unreachable", "kind"),
    [
        (CheckResult("a", "failed"), "", True, "target-unreachable"),
        (CheckResult("a", "failed"), "smokegate.probe.TargetUnreachable: timed out", False, "network-transient"),
        (CheckResult("a", "failed", details={"dependency": "database"}), "", False, "third-party"),
        (CheckResult("a", "failed", measured=900, budget=500), "", False, "budget-exceeded"),
        (CheckResult("a", "failed"), "AssertionError: answered 500", False, "contract-broken"),
        (CheckResult("a", "failed", details={"failure_kind": "provider-bot-detection"}), "", False,
         "provider-bot-detection"),
    ],
)
def test_failure_kinds(result: CheckResult, longtext: str, unreachable: bool, kind: str) -> None:
    assert failure_kind(result, longtext, unreachable) == kind
