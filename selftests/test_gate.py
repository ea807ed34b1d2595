"""Gate logic: what blocks a deployment, and what gate.json says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smokegate import failures
from smokegate.gate import CheckResult, GateReport, write_json_atomic
from smokegate.summary import summary_markdown


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


def test_required_check_skipped_cannot_pass_and_optional_skip_does_not_matter() -> None:
    assert gate_with(CheckResult("a", "skipped", required=True)).verdict == "error"
    assert gate_with(CheckResult("a", "skipped", required=False)).verdict == "pass"


def test_skipped_is_never_counted_as_passed() -> None:
    gate = gate_with(CheckResult("a", "passed"), CheckResult("b", "skipped", severity="critical"))
    counts = gate.counts()
    assert (counts["passed"], counts["skipped"]) == (1, 1)
    assert counts["by_severity"]["critical"] == {"passed": 0, "failed": 0, "skipped": 1}


def test_an_unreachable_target_fails_even_with_no_failed_check() -> None:
    gate = gate_with(CheckResult("a", "skipped"))
    gate.fail_unreachable("target unreachable: connection refused")
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
    text = summary_markdown(gate)
    assert "FAIL" in text
    assert "| high (blocking) | `smoke/test_pages.py::x[pricing]` | 2512 ms / budget 2000 ms |" in text


@pytest.mark.parametrize(
    ("declared", "text", "assertion", "unreachable", "dependency", "over_budget", "kind"),
    [
        (None, "", True, True, False, False, "target-unreachable"),
        (None, "E   smokegate.probe.TargetUnreachable: timed out", False, False, False, False, "network"),
        ("network", "", False, False, False, False, "network"),
        (None, "", True, False, True, False, "third-party"),
        (None, "", True, False, False, True, "budget-exceeded"),
        (None, "AssertionError: answered 500", True, False, False, False, "contract-broken"),
        ("provider-bot-detection", "", True, False, False, False, "provider-bot-detection"),
        (None, "E   KeyError: 'checks'", False, False, False, False, "suite-error"),
        # An assertion whose message mentions a network error is still a finding.
        (None, "E   AssertionError: ConnectError seen in the log", True, False, False, False, "contract-broken"),
    ],
)
def test_failure_kinds(declared: str | None, text: str, assertion: bool, unreachable: bool, dependency: bool,
                       over_budget: bool, kind: str) -> None:
    assert failures.classify(declared=declared, exception_text=text, assertion=assertion, unreachable=unreachable,
                             dependency=dependency, over_budget=over_budget) == kind


def test_network_and_suite_errors_do_not_block_but_make_the_verdict_error() -> None:
    gate = gate_with(CheckResult("tls", "failed", severity="high", failure_kind="network"))
    assert gate.verdict == "error" and gate.verdict_error_kind == "inconclusive" and not gate.blocking
    assert gate.exit_code() == 2
    assert "could not be determined" in (gate.explanation or "")
    bug = gate_with(CheckResult("x", "failed", severity="critical", failure_kind="suite-error"))
    assert bug.verdict == "error" and bug.verdict_error_kind == "internal" and bug.exit_code() == 3
    low = gate_with(CheckResult("tls", "failed", severity="low", failure_kind="network"))
    assert low.verdict == "pass", "below the gate level an undetermined check changes nothing"


def test_a_finding_wins_over_an_inconclusive_check() -> None:
    gate = gate_with(CheckResult("tls", "failed", severity="high", failure_kind="network"),
                     CheckResult("page", "failed", severity="high", failure_kind="contract-broken"))
    assert gate.verdict == "fail" and gate.exit_code() == 1


def test_usage_errors_and_unreachable_targets() -> None:
    usage = gate_with()
    usage.fail_usage("--gate-on: 'bogus' is not one of critical, high, medium, low")
    assert (usage.verdict, usage.verdict_error_kind, usage.exit_code()) == ("error", "usage", 4)
    down = gate_with(CheckResult("smoke/test_reachability.py::x", "failed", severity="critical"))
    down.fail_unreachable("target unreachable: connection refused")
    assert (down.verdict, down.exit_code()) == ("fail", 1)
    assert down.as_dict()["reason"] == "target unreachable: connection refused"


def test_a_required_check_that_did_not_run_means_the_run_could_not_judge() -> None:
    gate = gate_with(CheckResult("health", "skipped", severity="critical", required=True, message="skipped"))
    assert gate.verdict == "error" and gate.verdict_error_kind == "not-run" and gate.exit_code() == 2
