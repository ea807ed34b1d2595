"""From pytest reports to check results, and the human side of the verdict: summary.md.

Each check's test attaches a ``("smokegate", {...})`` user property (severity, feature,
measurements, requests sent); :class:`ResultCollector` folds the setup/call/teardown reports
of every test, reruns included, into one :class:`~smokegate.gate.CheckResult`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smokegate.gate import CheckResult, GateReport, Outcome

PROPERTY = "smokegate"
NETWORK_ERRORS = re.compile(
    r"TargetUnreachable|ConnectError|ConnectTimeout|ReadTimeout|RemoteProtocolError|ConnectionResetError"
)


def check_id(nodeid: str) -> str:
    """``tests/smoke/test_x.py::test_y[p]`` -> ``smoke/test_x.py::test_y[p]``."""
    return nodeid.split("tests/", 1)[1] if nodeid.startswith("tests/") or "/tests/" in nodeid else nodeid


def failure_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, reason)
        text = str(longrepr[2])
    text = text.split("\nassert ", 1)[0].strip()
    for prefix in ("AssertionError: ", "Failed: ", "Skipped: "):
        text = text.removeprefix(prefix)
    return text


def failure_kind(result: CheckResult, longtext: str, unreachable: bool) -> str:
    """Label a failure for whoever reads it at 3 a.m.: whose problem is this likely to be?"""
    if unreachable:
        return "target-unreachable"
    if result.details.get("failure_kind"):
        # The check knew better (the synthetic journey tells bot detection from an expired session).
        return str(result.details["failure_kind"])
    if NETWORK_ERRORS.search(longtext):
        return "network-transient"
    if result.details.get("dependency"):
        return "third-party"
    if result.measured is not None and result.budget is not None and result.measured > result.budget:
        return "budget-exceeded"
    return "contract-broken"


@dataclass
class _Pending:
    nodeid: str
    info: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome = "passed"
    message: str | None = None
    longtext: str = ""
    attempts: int = 1
    duration: float = 0.0


class ResultCollector:
    """Folds the reports of each test into one check result for the gate."""

    def __init__(self, gate: GateReport) -> None:
        self.gate = gate
        self.pending: dict[str, _Pending] = {}
        self.unreachable = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.add(report)

    def add(self, report: pytest.TestReport) -> None:
        item = self.pending.setdefault(report.nodeid, _Pending(report.nodeid))
        for name, value in report.user_properties:
            if name == PROPERTY and isinstance(value, dict):
                item.info.update(value)
        item.duration += report.duration
        if str(report.outcome) == "rerun":  # pytest-rerunfailures' extra outcome
            item.attempts += 1
            item.outcome, item.message = "passed", None
            return
        if report.failed and item.outcome != "failed":
            item.outcome = "failed"
            item.message = failure_message(report)
            item.longtext = report.longreprtext
        elif report.skipped and item.outcome == "passed":
            item.outcome = "skipped"
            item.message = failure_message(report)
        if report.when == "teardown":
            self._finish(self.pending.pop(report.nodeid))

    def _finish(self, item: _Pending) -> None:
        info = item.info
        if not info.get("is_check"):
            return
        result = CheckResult(
            check=check_id(item.nodeid),
            outcome=item.outcome,
            severity=info.get("severity", "high"),
            epic=info.get("epic", "smoke"),
            feature=info.get("feature", ""),
            required=bool(info.get("required", False)),
            message=item.message,
            measured=info.get("measured"),
            budget=info.get("budget"),
            unit=info.get("unit"),
            requests=int(info.get("requests", 0)),
            attempts=item.attempts,
            duration_s=round(item.duration, 3),
            details=dict(info.get("details", {})),
        )
        if result.outcome == "failed":
            result.failure_kind = failure_kind(result, item.longtext, self.unreachable)
        if item.attempts > 1:
            self.gate.flaky += 1
            result.details["flaky"] = True
        self.gate.add(result)


def _fmt(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    number = f"{value:.0f}" if unit == "ms" or abs(value) >= 100 else f"{value:.3g}"
    return f"{number} {unit}".strip() if unit and unit != "ratio" else number


def measured_vs_budget(result: CheckResult) -> str:
    if result.measured is None:
        return ""
    text = _fmt(result.measured, result.unit)
    if result.budget is not None:
        text += f" / budget {_fmt(result.budget, result.unit)}"
    return text


def summary_markdown(gate: GateReport, reports_dir: Path) -> str:
    data = gate.as_dict()
    counts = data["counts"]
    icon = "✅" if gate.verdict == "pass" else "❌"
    lines = [
        f"## {icon} smokegate: {gate.verdict.upper()} — {gate.target_name or '?'} ({gate.base_url or 'no URL'})",
        "",
        f"Gate blocks on **{gate.gate_on}** and above. Version: `{gate.version or 'unknown'}`"
        + (f" (expected `{gate.expected_version}`)" if gate.expected_version else ""),
        "",
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
        f"{counts['deselected']} deselected, {counts['flaky']} flaky; "
        f"{data['requests_sent']} requests in {data['duration_s']:.1f} s.",
    ]
    if gate.reason:
        lines += ["", f"**{gate.reason}**"]
    failed = data["failed"]
    if failed:
        lines += ["", "| Severity | Check | Measured / budget | Kind | Message |", "|---|---|---|---|---|"]
        for item in failed:
            result = CheckResult(**item)
            message = (result.message or "").replace("|", "\\|").replace("\n", " ")[:300]
            mark = " (blocking)" if result.blocking else ""
            lines.append(
                f"| {result.severity}{mark} | `{result.check}` | {measured_vs_budget(result)} | "
                f"{result.failure_kind or ''} | {message} |"
            )
    skipped_required = [c for c in gate.checks if c.outcome == "skipped" and c.required]
    if skipped_required:
        lines += ["", "Required checks that did not run (they block):"]
        lines += [f"- `{c.check}`: {c.message}" for c in skipped_required]
    if gate.deselected:
        lines += ["", f"{len(gate.deselected)} intrusive checks deselected: {gate.deselected[0].reason}."]
    lines += ["", f"Reports: `{reports_dir}/report.html`, `gate.json`, `junit.xml`, `allure-results/`.", ""]
    return "\n".join(lines)


def write_summary(gate: GateReport, reports_dir: Path) -> Path:
    text = summary_markdown(gate, reports_dir)
    path = reports_dir / "summary.md"
    path.write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return path


def scrub_reports(reports_dir: Path, secrets: list[str]) -> int:
    """Replace any secret value that reached a text report with a mask; return how many files changed.

    The checks never put secrets in messages; this is the last line of defence, for example
    against an exception text quoting a request header.
    """
    values = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
    if not values or not reports_dir.exists():
        return 0
    changed = 0
    for path in reports_dir.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".xml", ".json", ".md", ".txt", ".log"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        scrubbed = text
        for value in values:
            scrubbed = scrubbed.replace(value, value[:4] + "…[redacted]")
        if scrubbed != text:
            path.write_text(scrubbed, encoding="utf-8")
            changed += 1
    return changed
