"""The gate report's data and pieces without a browser: the banner's view of gate.json, skip
sentences, durations, evidence labels, the stopped-run page, Allure's categories, and the
results table pytest-html writes for a tiny suite."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smokegate.failures import FailureKind
from smokegate.gate import CheckResult, GateReport
from smokegate.gate_view import evidence_links, gate_view, one_line
from smokegate.plugin.allure_results import annotate, categories, kind_message, write_categories
from smokegate.plugin.html_report import GateHtml, sentence, write_stopped_report


def _gate(*results: CheckResult, expected: str | None = "abc", version: str | None = "abc") -> dict[str, Any]:
    gate = GateReport(gate_on="high", target_name="production", base_url="https://napoleonai.app",
                      version=version, expected_version=expected)
    for result in results:
        gate.add(result)
    gate.finalize()
    return gate.as_dict()


SLOW = CheckResult("smoke/test_health.py::test_latency", "failed", severity="high", measured=750.0, budget=500.0,
                   unit="ms", message="/api/health median 750 ms > budget 500 ms", failure_kind="budget-exceeded")
SLOWER = CheckResult("smoke/test_api.py::test_latency", "failed", severity="critical", measured=1500.0,
                     budget=500.0, unit="ms", message="GET /api/plans 1500 ms > 500 ms", failure_kind="budget-exceeded")
LOW = CheckResult("synthetic/test_page_load.py::test_cls", "failed", severity="low", message="CLS 0.3 > 0.1",
                  failure_kind="contract-broken")
RESET = CheckResult("security/test_tls.py::test_tls12", "failed", severity="high",
                    message="could not be determined: connection reset", failure_kind="network")


def test_the_banner_says_what_blocked_and_what_it_means() -> None:
    view = gate_view(_gate(SLOW, SLOWER, LOW, CheckResult("smoke/test_ok.py::test_ok", "passed")))
    assert (view.verdict, view.word, view.headline) == ("fail", "FAIL", "the target failed a blocking check")
    assert view.version_state == "matches"
    assert view.gated == ["critical", "high"]
    assert [line.check for line in view.decisive] == [SLOWER.check, SLOW.check]  # most severe first
    assert view.below_gate == 1  # the low one is in the table, not the list
    # What a kind means is said once, at its first check.
    assert view.decisive[0].kind_cause is not None
    assert view.decisive[0].kind_cause.startswith("responses were slower than the performance budget")
    assert view.decisive[1].kind_cause is None
    # 300 % and 150 % of budget sit at different places of the bar.
    assert view.decisive[0].bar is not None
    assert view.decisive[1].bar is not None
    assert view.decisive[0].bar.position - view.decisive[1].bar.position > 0.15
    assert view.decisive[0].bar.percent == "300 % of budget"
    assert [(s.severity, s.passed, s.failed) for s in view.by_severity] == [
        ("critical", 0, 1), ("high", 1, 1), ("low", 0, 1)]


@pytest.mark.parametrize(
    ("version", "expected", "state"),
    [("abc", "abc", "matches"), ("old", "abc", "mismatch"), (None, "abc", "unknown"), ("abc", None, "unchecked")],
)
def test_the_version_is_compared_with_the_expected_one(version: str | None, expected: str | None,
                                                       state: str) -> None:
    assert gate_view(_gate(SLOW, version=version, expected=expected)).version_state == state


def test_a_check_that_could_not_be_judged_is_listed_apart() -> None:
    view = gate_view(_gate(RESET))
    assert view.verdict == "error"
    assert view.decisive == []
    assert [line.check for line in view.undetermined] == [RESET.check]
    assert "could not be determined" in (view.reason or "")


def test_an_unreachable_target_lists_no_skipped_required_check() -> None:
    gate = GateReport(gate_on="high", target_name="production", base_url="https://napoleonai.app")
    gate.fail_unreachable("target unreachable: connection refused")
    gate.add(CheckResult("smoke/test_reachability.py::test_target_is_reachable", "failed", severity="critical",
                         required=True, message="target unreachable: connection refused",
                         failure_kind="target-unreachable"))
    gate.add(CheckResult("smoke/test_health.py::test_health_answers_200", "skipped", severity="critical",
                         required=True, message="target unreachable: connection refused"))
    view = gate_view(gate.as_dict())
    assert view.headline == "the target cannot be tested, and that is a finding"
    assert view.reason == "target unreachable: connection refused"
    assert [line.check for line in view.decisive] == ["smoke/test_reachability.py::test_target_is_reachable"]
    assert view.undetermined == []


def test_evidence_links_are_numbered_when_a_kind_repeats() -> None:
    links = evidence_links([("screenshot", "a.png"), ("trace", "t1.zip"), ("trace", "t2.zip"), ("console", "c.log")])
    assert [link.label for link in links] == ["screenshot", "trace 1", "trace 2", "console log"]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("test account not configured: set A and B", "Test account not configured: set A and B."),
        ("no OAuth provider configured.", "No OAuth provider configured."),
        ("  ", "No reason given."),
    ],
)
def test_skip_reasons_are_sentences(reason: str, expected: str) -> None:
    assert sentence(reason) == expected


def test_messages_are_one_line() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 500, 20) == "x" * 19 + "…"


@pytest.mark.parametrize(("seconds", "text"), [(0.0042, "4 ms"), (1.4, "1400 ms"), (59.4, "59400 ms"),
                                               (65.0, "00:01:05"), (3725.0, "01:02:05")])
def test_durations_keep_their_precision_and_sort(seconds: float, text: str) -> None:
    # pytest-html's sort reads "<n> ms" with parseInt and "HH:MM:SS" as clock time.
    assert GateHtml.pytest_html_duration_format(None, seconds) == text  # type: ignore[arg-type]


def test_a_stopped_run_replaces_the_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text('<div data-verdict="pass">PASS</div>')
    gate = GateReport(gate_on="high", target_name="nosuch")
    gate.fail_usage("--target: unknown target 'nosuch'")
    write_stopped_report(page, gate)
    text = page.read_text()
    assert 'data-verdict="error"' in text
    assert "unknown target &#39;nosuch&#39;" in text
    assert "PASS" not in text
    assert "default-src 'none'" in text


def test_one_allure_category_per_failure_kind() -> None:
    found = categories()
    by_kind = {kind: [c["name"] for c in found if "messageRegex" in c
                      and re.fullmatch(c["messageRegex"], kind_message(str(kind), "what was seen\nand more"))]
               for kind in FailureKind}
    assert all(len(names) == 1 for names in by_kind.values()), by_kind
    assert by_kind[FailureKind.NETWORK] == ["network (not an outage; runner network)"]
    assert any(c.get("matchedStatuses") == ["skipped"] for c in found)


def test_failed_allure_results_start_with_their_kind(tmp_path: Path) -> None:
    def result(name: str, check: str, status: str) -> None:
        data = {"name": check, "status": status, "statusDetails": {"message": "AssertionError: x\nassert 1 == 2"},
                "labels": [{"name": "smokegate_check", "value": check}]}
        (tmp_path / f"{name}-result.json").write_text(json.dumps(data))

    result("a", SLOW.check, "failed")
    result("b", "smoke/test_ok.py::test_ok", "passed")
    failed = {SLOW.check: {"failure_kind": "budget-exceeded", "message": SLOW.message}}
    assert annotate(tmp_path, failed) == 1
    assert json.loads((tmp_path / "a-result.json").read_text())["statusDetails"]["message"] == (
        "[budget-exceeded] /api/health median 750 ms > budget 500 ms")
    assert json.loads((tmp_path / "b-result.json").read_text())["statusDetails"]["message"].startswith("Assertion")
    assert json.loads(write_categories(tmp_path).read_text()) == categories()


# -- pytest-html's page from a tiny suite, workers included ------------------------------------

CHECKS = """
import pytest
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]

@pytest.mark.check(severity="high")
def test_suite_bug():
    raise RuntimeError("boom inside the suite")

@pytest.mark.check(severity="medium")
def test_medium_over_budget(check_record):
    check_record.measure(2600, 2000)
    assert False, "took 2600 ms > budget 2000 ms"

@pytest.mark.check(severity="low")
def test_skipped_here():
    pytest.skip("no staging account configured here")
"""


def test_the_table_shows_messages_sentences_and_a_traceback_only_for_a_suite_bug(
    tmp_path: Path, healthy_testbed: Any
) -> None:
    # A plain subprocess in a scratch project (pytester's in-process snapshot of sys.modules is
    # not needed here, and restoring it has unsettled other tests' imports of httpx).
    (tmp_path / "smokegate.toml").write_text(f"""
[targets.stage]
base_url = "{healthy_testbed.url}"
ca_bundle = "{healthy_testbed.ca_file}"
intrusive = true
""")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_checks.py").write_text(CHECKS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMOKEGATE_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "--target", "stage", "-n", "2", "tests"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 3, (done.stdout + done.stderr)[-2000:]  # a suite error: verdict error (internal)
    page = (tmp_path / "reports" / "report.html").read_text()
    assert 'data-verdict="error"' in page
    assert "an error inside the suite itself" in page
    blob = html.unescape(re.search(r'data-jsonblob="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    tests = json.loads(blob)["tests"]
    logs = {nodeid.rsplit("::", 1)[-1]: rows[0]["log"] for nodeid, rows in tests.items()}
    rows = {nodeid.rsplit("::", 1)[-1]: "".join(rows[0]["resultsTableRow"]) for nodeid, rows in tests.items()}
    assert "RuntimeError: boom inside the suite" in logs["test_suite_bug"]
    assert "Traceback" in logs["test_suite_bug"]
    assert "def test_medium_over_budget" not in logs["test_medium_over_budget"]
    assert "2600 ms / budget 2000 ms (130 % of budget)" in logs["test_medium_over_budget"]
    assert "took 2600 ms &gt; budget 2000 ms" in rows["test_medium_over_budget"]
    assert "No staging account configured here." in rows["test_skipped_here"]
    assert logs["test_skipped_here"] == ""
    assert 'class="sg-tag blocking"' not in rows["test_medium_over_budget"]  # medium does not gate
