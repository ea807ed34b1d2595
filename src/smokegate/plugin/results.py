"""From pytest reports to check results for the gate.

Each check's report carries a ``("smokegate", {...})`` user property (set where the report is made,
on whichever process ran the check): its id, severity, measurements, requests sent and, when it
failed, what it raised.  :class:`ResultCollector` runs on the controller and folds the setup, call
and teardown reports of every check, reruns included, into one
:class:`~smokegate.gate.CheckResult`, classified by :func:`smokegate.failures.classify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from smokegate import failures
from smokegate.checks import warning_signs
from smokegate.failures import CheckFailure, Inconclusive
from smokegate.gate import CheckResult, GateReport, Outcome
from smokegate.plugin.run import SEVERITY_RAISED
from smokegate.scrub import SCRUBBER
from smokegate.severity import Severity

PROPERTY = "smokegate"


def raised(exc: BaseException | None) -> dict[str, Any] | None:
    """What a failing phase raised, as plain data that survives the trip from an xdist worker."""
    if exc is None or isinstance(exc, pytest.skip.Exception):
        return None
    assertion = isinstance(exc, AssertionError | pytest.fail.Exception)
    declared: str | None = None
    if isinstance(exc, Inconclusive | CheckFailure):
        declared = str(exc.kind)
    text = str(getattr(exc, "msg", None) or exc) if assertion or declared else f"{type(exc).__name__}: {exc}"
    return {"declared": declared, "assertion": assertion, "message": _first_part(text)}


def _first_part(text: str) -> str:
    """The check's own words: pytest's assertion rewriting appends ``assert ...`` introspection."""
    text = text.split("\nassert ", 1)[0].strip()
    for prefix in ("AssertionError: ", "Failed: ", "Skipped: "):
        text = text.removeprefix(prefix)
    return text


def report_message(report: pytest.TestReport) -> str:
    """A failure's or skip's message from the report itself (when the check left none)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, reason)
        return _first_part(str(longrepr[2]))
    crash = getattr(longrepr, "reprcrash", None)
    return _first_part(crash.message if crash is not None else str(longrepr))


@dataclass
class _Pending:
    nodeid: str
    info: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome = "passed"
    message: str | None = None
    longtext: str = ""
    raised: dict[str, Any] | None = None
    attempts: int = 1
    duration: float = 0.0
    # The attempt pytest-rerunfailures is repeating: the rest of its reports (its teardown) are not final.
    repeating: int | None = None


def _raised(severity: str, item: _Pending, details: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """A failed check whose record asked for it (a figure past a warning sign) is one step more severe."""
    reason = details.get(SEVERITY_RAISED)
    if item.outcome != "failed" or not reason:
        return severity, item.message, details
    higher = warning_signs.raised(severity)
    details["declared_severity"] = severity
    return higher, f"{item.message or ''} [{reason}: severity raised from {severity} to {higher}]".strip(), details


class ResultCollector:
    """Folds the reports of each check into one check result for the gate (controller only)."""

    def __init__(self, gate: GateReport) -> None:
        self.gate = gate
        self.pending: dict[str, _Pending] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.add(report)

    def add(self, report: pytest.TestReport) -> None:
        item = self.pending.setdefault(report.nodeid, _Pending(report.nodeid))
        failure = None
        for name, value in report.user_properties:
            if name == PROPERTY and isinstance(value, dict):
                failure = value.get("raised")
                item.info.update({k: v for k, v in value.items() if k != "raised"})
        item.duration += report.duration
        attempt = getattr(report, "rerun", None)  # pytest-rerunfailures numbers each attempt's reports
        if str(report.outcome) == "rerun":  # pytest-rerunfailures' extra outcome
            item.attempts += 1
            item.outcome, item.message, item.raised = "passed", None, None
            item.repeating = attempt
            return
        if item.repeating is not None and attempt == item.repeating:
            return  # the rest of the attempt being repeated (its teardown): the next attempt decides
        if report.failed and item.outcome != "failed":
            item.outcome = "failed"
            item.raised = failure
            item.message = (failure or {}).get("message") or report_message(report)
            item.longtext = report.longreprtext
        elif report.skipped and item.outcome == "passed":
            item.outcome = "skipped"
            item.message = report_message(report)
        if report.when == "teardown":
            self._finish(self.pending.pop(report.nodeid))

    def _finish(self, item: _Pending) -> None:
        info = item.info
        if not info.get("check"):
            return
        severity, message, details = _raised(info.get("severity", Severity.HIGH), item, dict(info.get("details", {})))
        result = CheckResult(
            check=str(info["check"]),
            outcome=item.outcome,
            severity=severity,
            epic=info.get("epic", "smoke"),
            feature=info.get("feature", ""),
            required=bool(info.get("required", False)),
            message=SCRUBBER.text(message) if message else None,
            measured=info.get("measured"),
            budget=info.get("budget"),
            unit=info.get("unit"),
            requests=int(info.get("requests", 0)),
            attempts=item.attempts,
            duration_s=round(item.duration, 3),
            details=details,
        )
        if result.outcome == "failed":
            raised_info = item.raised or {}
            result.failure_kind = str(failures.classify(
                declared=raised_info.get("declared") or result.details.get("failure_kind"),
                exception_text=item.longtext,
                # A failure without a record of what was raised came from pytest itself (a fixture
                # error before the check could say anything): read it as the check's finding.
                assertion=bool(raised_info.get("assertion", item.raised is None)),
                unreachable=self.gate.unreachable,
                dependency=bool(result.details.get("dependency")),
                over_budget=(result.measured is not None and result.budget is not None
                             and result.measured > result.budget),
            ))
        if item.attempts > 1:
            self.gate.flaky += 1
            result.details["flaky"] = True
        self.gate.add(result)
