"""Gate logic: what blocks a deployment, and what gate.json says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smokegate import failures
from smokegate.checks import causes
from smokegate.gate import CheckResult, GateReport, Outcome, write_json_atomic
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
    # The explanation gives the first check's own reason, whatever made it undeterminable.
    slow = gate_with(CheckResult("burst", "failed", severity="high", failure_kind="network",
                                 message="could not be determined: the burst's 21 answers took 6.1 s, longer than the "
                                         "limit's 3 s window"),
                     CheckResult("tls", "failed", severity="high", failure_kind="network"))
    assert slow.explanation == (
        "2 blocking check(s) could not be determined, which is no finding about the target: "
        "burst: the burst's 21 answers took 6.1 s, longer than the limit's 3 s window; also tls")
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


def _caused(check: str, *keys: str, severity: str = "high", kind: str = "contract-broken",
            outcome: Outcome = "failed") -> CheckResult:
    return CheckResult(check, outcome, severity=severity, failure_kind=kind,
                       details={"cause": {"summary": "the CORS policy", "keys": list(keys)}})


def test_one_cause_is_one_blocking_row_naming_its_consequences() -> None:
    """Issue 19 item 7: an unanchored CORS regex was 12 failing rows; a cause is one finding."""
    rows = [_caused(f"security/test_cors.py::test_hostile_origin_refused[{route}-{kind}]", "cors-policy")
            for route in ("plans", "status") for kind in ("prefix-lookalike", "unescaped-dot")]
    gate = gate_with(*rows, CheckResult("smoke/other", "failed", severity="high"))
    primary = rows[0]
    assert [c.check for c in gate.blocking] == [primary.check, "smoke/other"]
    assert primary.consequences == [r.check for r in rows[1:]]
    assert {r.consequence_of for r in rows[1:]} == {primary.check}
    assert gate.verdict == "fail" and gate.as_dict()["counts"]["blocking"] == 2
    assert gate.as_dict()["counts"]["failed"] == 5  # every symptom is still a failed check


def test_the_most_severe_symptom_is_the_finding_and_keys_link_through_others() -> None:
    # asset 404 seen by a console check and a subresource check; the console check also names a
    # second key shared by a third check: one finding across all three.
    console = _caused("synthetic/console[landing]", "asset:https://x.test/a.css", "console:x", severity="medium")
    subresource = _caused("synthetic/subresources[landing]", "asset:https://x.test/a.css", severity="high")
    other_page = _caused("synthetic/console[pricing]", "console:x", severity="medium")
    gate = gate_with(console, subresource, other_page)
    assert [c.check for c in gate.blocking] == [subresource.check]
    assert subresource.consequences == [console.check, other_page.check]
    assert console.consequence_of == other_page.consequence_of == subresource.check


def test_an_exception_naming_a_file_by_its_path_is_that_file_s_cause() -> None:
    """Turbopack's runtime names a chunk by its root-relative path when it cannot load it (a race with the
    chunk's own script tag, seen on the real Next.js testbed): the same cause as the file's failed request."""
    page = "https://x.test/pricing"
    thrown = ["ChunkLoadError: Failed to load chunk /_next/static/chunks/2zti.js from module 64893 "
              "(thrown 464 ms after load)"]
    assert causes.asset_key("https://x.test/_next/static/chunks/2zti.js") in causes.message_keys(
        "exception", thrown, page)
    # Absolute URLs are read as before; a route or a bare word is no file; without the page, paths are not guessed.
    assert causes.message_keys("console", ["GET https://cdn.test/a.css?v=1 404"], page)[1:] == [
        "asset:https://cdn.test/a.css"]
    assert causes.message_keys("exception", ["TypeError: /api/plans returned null"], page)[1:] == []
    assert causes.message_keys("exception", thrown)[1:] == []


def test_findings_below_the_gate_or_undetermined_are_not_grouped_into_blocking() -> None:
    network = _caused("a", "cors-policy", kind="network")
    finding = _caused("b", "cors-policy", severity="medium")
    gate = gate_with(network, finding, gate_on="high")
    assert network.consequence_of is None and finding.consequences == []
    assert gate.verdict == "error" and not gate.blocking  # the network fault still makes the run unjudged
    # A passing check that named a cause is no symptom of anything.
    passed = _caused("c", "cors-policy", outcome="passed")
    alone = _caused("d", "cors-policy")
    gate = gate_with(passed, alone)
    assert alone.consequences == [] and passed.consequence_of is None and gate.blocking == [alone]


def test_a_cause_groups_the_same_way_whatever_the_order() -> None:
    def checks() -> list[CheckResult]:
        return [_caused("t1", "k1", severity="medium"), _caused("t2", "k2", severity="critical"),
                _caused("t3", "k1", "k2", severity="high")]

    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        made = checks()
        gate = gate_with(*(made[i] for i in order))
        assert [c.check for c in gate.blocking] == ["t2"], order
        assert sorted(made[1].consequences) == ["t1", "t3"]


def test_severities_rank_in_one_place_and_are_written_as_plain_strings() -> None:
    from smokegate.severity import SEVERITIES, UNKNOWN_RANK, Severity, most_severe, severity_rank

    assert [severity_rank(s) for s in ("critical", "high", "medium", "low")] == [0, 1, 2, 3]
    assert SEVERITIES == (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
    assert most_severe(["low", "bogus", "medium"]) is Severity.MEDIUM
    with pytest.raises(ValueError, match="'bogus' is not a severity"):
        severity_rank("bogus")
    assert severity_rank("bogus", strict=False) == UNKNOWN_RANK > severity_rank("low")
    # gate.json stays as it was: the enum is written as its name, as a key and as a value.
    gate = GateReport(checks=[CheckResult("a", "failed")])
    assert json.dumps(gate.counts()["by_severity"]).startswith('{"critical": {"passed": 0')
    assert json.dumps({"gate_on": gate.gate_on, "severity": gate.checks[0].severity}) == (
        '{"gate_on": "high", "severity": "high"}')
