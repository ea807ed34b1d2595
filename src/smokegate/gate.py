"""The deployment gate: from check results to a verdict, an exit code and ``gate.json``.

A check blocks the deployment when it failed at or above the ``--gate-on`` severity, or when it
is *required* and was skipped (a check that did not run proved nothing).  A skipped check is never
counted as passed.  ``gate.json`` is the machine-readable verdict every consumer reads: the CI
gate, the alerting, the run history.

Schema (version 1)::

    {
      "schema": 1,
      "verdict": "pass" | "fail",
      "gate_on": "critical" | "high" | "medium" | "low",
      "reason": str | null,            # set when the run itself could not test (bad config, unreachable)
      "target": {"name": str | null, "base_url": str | null},
      "version": str | null,           # build the target reported in its health endpoint
      "expected_version": str | null,  # --expect-version
      "started_at": ISO-8601 UTC, "finished_at": ISO-8601 UTC, "duration_s": float,
      "requests_sent": int,
      "counts": {"passed": int, "failed": int, "skipped": int, "deselected": int, "flaky": int,
                 "blocking": int,
                 "by_severity": {"critical": {"passed": int, "failed": int, "skipped": int}, ...}},
      "checks": [CheckResult...],      # every check that ran or was skipped
      "failed": [CheckResult...],      # the failed ones, most severe first
      "skipped": [CheckResult...],
      "deselected": [{"check": str, "reason": str}]
    }

    CheckResult = {"check": str, "outcome": "passed" | "failed" | "skipped", "severity": str,
                   "epic": "smoke" | "synthetic" | "security", "feature": str, "required": bool,
                   "blocking": bool, "message": str | null, "measured": float | null,
                   "budget": float | null, "unit": str | null, "requests": int,
                   "failure_kind": str | null, "attempts": int, "duration_s": float,
                   "details": {...}}
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from smokegate.config import SEVERITIES

Outcome = Literal["passed", "failed", "skipped"]
SCHEMA_VERSION = 1


def severity_rank(severity: str) -> int:
    """0 for critical, 3 for low: lower is more severe."""
    return SEVERITIES.index(severity)


def at_or_above(severity: str, gate_on: str) -> bool:
    return severity_rank(severity) <= severity_rank(gate_on)


@dataclass
class CheckResult:
    check: str
    outcome: Outcome
    severity: str = "high"
    epic: str = "smoke"
    feature: str = ""
    required: bool = False
    message: str | None = None
    measured: float | None = None
    budget: float | None = None
    unit: str | None = None
    requests: int = 0
    failure_kind: str | None = None
    attempts: int = 1
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    blocking: bool = False


@dataclass
class Deselected:
    check: str
    reason: str


@dataclass
class GateReport:
    """Everything ``gate.json`` holds; :meth:`finalize` computes the verdict."""

    gate_on: str = "high"
    target_name: str | None = None
    base_url: str | None = None
    version: str | None = None
    expected_version: str | None = None
    reason: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    checks: list[CheckResult] = field(default_factory=list)
    deselected: list[Deselected] = field(default_factory=list)
    extra_requests: int = 0
    flaky: int = 0

    def add(self, result: CheckResult) -> None:
        result.blocking = self._blocks(result)
        self.checks.append(result)

    def _blocks(self, result: CheckResult) -> bool:
        if result.outcome == "failed":
            return at_or_above(result.severity, self.gate_on)
        if result.outcome == "skipped":
            return result.required
        return False

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking]

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        if self.reason is not None or self.blocking:
            return "fail"
        return "pass"

    @property
    def requests_sent(self) -> int:
        return self.extra_requests + sum(c.requests for c in self.checks)

    def finalize(self) -> None:
        self.finished_at = datetime.now(UTC)

    def counts(self) -> dict[str, Any]:
        by_severity = {s: {"passed": 0, "failed": 0, "skipped": 0} for s in SEVERITIES}
        totals = {"passed": 0, "failed": 0, "skipped": 0}
        for check in self.checks:
            totals[check.outcome] += 1
            by_severity.setdefault(check.severity, {"passed": 0, "failed": 0, "skipped": 0})
            by_severity[check.severity][check.outcome] += 1
        return {
            **totals,
            "deselected": len(self.deselected),
            "flaky": self.flaky,
            "blocking": len(self.blocking),
            "by_severity": by_severity,
        }

    def as_dict(self) -> dict[str, Any]:
        finished = self.finished_at or datetime.now(UTC)
        failed = sorted(
            (c for c in self.checks if c.outcome == "failed"),
            key=lambda c: (severity_rank(c.severity), c.check),
        )
        return {
            "schema": SCHEMA_VERSION,
            "verdict": self.verdict,
            "gate_on": self.gate_on,
            "reason": self.reason,
            "target": {"name": self.target_name, "base_url": self.base_url},
            "version": self.version,
            "expected_version": self.expected_version,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started_at).total_seconds(), 3),
            "requests_sent": self.requests_sent,
            "counts": self.counts(),
            "checks": [asdict(c) for c in self.checks],
            "failed": [asdict(c) for c in failed],
            "skipped": [asdict(c) for c in self.checks if c.outcome == "skipped"],
            "deselected": [asdict(d) for d in self.deselected],
        }

    def exit_code(self) -> int:
        """0 when the deployment may proceed, 1 when the gate blocks it."""
        return 0 if self.verdict == "pass" else 1


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader never sees half a file, even if the run is killed mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
