"""The CI decision (``python -m smokegate.ci``): one verdict, annotations a reader can act on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smokegate import ci
from smokegate.gate import CheckResult, GateReport


def write_gate(reports: Path, gate: GateReport) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    gate.finalize()
    (reports / "gate.json").write_text(json.dumps(gate.as_dict()))


def run_ci(reports: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    output = tmp_path / "github-output"
    done = subprocess.run([sys.executable, "-m", "smokegate.ci", str(reports), *args], capture_output=True,
                          text=True, timeout=60, env={"GITHUB_OUTPUT": str(output), "PATH": "", **(env or {})})
    return done.returncode, done.stdout, output.read_text() if output.exists() else ""


def test_a_blocking_check_becomes_an_error_annotation_with_its_figures(tmp_path: Path) -> None:
    gate = GateReport(gate_on="high", target_name="production", base_url="https://napoleonai.app")
    gate.add(CheckResult("smoke/test_pages.py::test_page_loads_within_budget[pricing]", "failed", severity="high",
                         message="/pricing median 2506 ms > budget 2000 ms\ndetails", measured=2506, budget=2000,
                         unit="ms", failure_kind="budget-exceeded"))
    gate.add(CheckResult("security/test_headers.py::x", "failed", severity="low", message="minor"))
    write_gate(tmp_path / "reports", gate)
    code, out, github = run_ci(tmp_path / "reports", tmp_path)
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=smoke/test_pages.py%3A%3Atest_page_loads_within_budget[pricing] (high%2C budget-exceeded)"
        "::/pricing median 2506 ms > budget 2000 ms [2506 ms / budget 2000 ms]"
    ]
    assert "smokegate verdict: FAIL" in out
    assert github == "verdict=fail\n"


@pytest.mark.parametrize(("verdict", "code"), [("pass", 0), ("error", 2)])
def test_pass_and_error_exit_codes(tmp_path: Path, verdict: str, code: int) -> None:
    gate = GateReport(target_name="staging")
    if verdict == "error":
        gate.fail_usage("--gate-on: 'bogus' is not one of critical, high, medium, low")
    write_gate(tmp_path / "reports", gate)
    got, out, github = run_ci(tmp_path / "reports", tmp_path)
    assert got == code and github == f"verdict={verdict}\n"
    if verdict == "error":
        assert "::error title=smokegate could not judge staging::--gate-on: 'bogus'" in out


@pytest.mark.parametrize("content", [None, "", "{not json", '{"verdict": "maybe"}'])
def test_no_usable_gate_json_is_an_error_never_a_pass(tmp_path: Path, content: str | None) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    if content is not None:
        (reports / "gate.json").write_text(content)
    code, out, github = run_ci(reports, tmp_path)
    assert code == 2 and github == "verdict=error\n"
    assert out.startswith("::error title=smokegate::no usable verdict in")


def test_annotation_text_cannot_inject_workflow_commands() -> None:
    gate = {"verdict": "fail", "target": {"name": "x"}, "failed": [
        {"check": "a", "blocking": True, "severity": "high", "failure_kind": "contract-broken",
         "message": "bad\n::set-output name=x::y"}]}
    lines = ci.workflow_commands(gate)
    assert len(lines) == 1 and "\n" not in lines[0]


def test_a_verdict_of_another_run_is_refused(tmp_path: Path) -> None:
    """A QA machine or a reused runner keeps an earlier run's PASS: given this run's id, it is no verdict."""
    earlier = GateReport(target_name="production", run_id="post-deploy-41-1")
    write_gate(tmp_path / "reports", earlier)
    code, out, github = run_ci(tmp_path / "reports", tmp_path, "--run-id", "post-deploy-42-1")
    assert code == 2 and github == "verdict=error\n"
    assert out.startswith("::error title=smokegate::")
    assert "verdict of run 'post-deploy-41-1'" in out and "not of this run ('post-deploy-42-1')" in out
    assert "PASS" not in out
    # The variable the run itself was given says the same, and this run's own gate.json is accepted.
    assert run_ci(tmp_path / "reports", tmp_path, env={"SMOKEGATE_RUN_ID": "post-deploy-42-1"})[0] == 2
    assert run_ci(tmp_path / "reports", tmp_path, "--run-id", "post-deploy-41-1")[0] == 0
    assert run_ci(tmp_path / "reports", tmp_path, env={"SMOKEGATE_RUN_ID": "post-deploy-41-1"})[0] == 0


def test_an_empty_run_id_is_a_usage_error(tmp_path: Path) -> None:
    write_gate(tmp_path / "reports", GateReport(target_name="production", run_id="r1"))
    code, out, _ = run_ci(tmp_path / "reports", tmp_path, "--run-id", "")
    assert code == 2 and out == ""
