"""The deployment gate: from check results to one verdict, an exit code and ``gate.json``.

Three verdicts, and everything else (exit code, summary, HTML report, history, alerts) derives
from this one value:

``pass``
    every check at or above ``--gate-on`` passed.
``fail``
    the target failed a blocking check (at or above ``--gate-on``), or is unreachable: a finding.
``error``
    the run could not judge the target: a bad option, config or file (``usage``), a blocking check
    that could not be determined (``inconclusive``: the network between runner and target failed after
    a retry, something in front of the app answered, or what the check measured cannot tell, as a
    burst slower than the limit's window), a required check that did not run (``not-run``), an error inside the
    suite (``internal``), an interrupted run or one with no checks.  Never an outage: no
    availability sample, no incident, no page.

A finding wins over an inability to judge: one blocking failure makes the run ``fail`` even if
another check was inconclusive.  A skipped check is never counted as passed.

One finding per fault: a check that fails names what its failure is a symptom of (``details.cause``:
a summary and keys such as ``asset:<url>``, ``cors-policy``, ``tls-certificate``, set through
``check_record.cause``).  Failed checks that share a key, directly or through others, are one
finding: the most severe (the first of equals) is its one blocking row, naming every other as a
consequence (``consequences``); those say whose (``consequence_of``) and do not block on their own.
The verdict is the same either way; the count of blocking rows is the count of causes.

Exit codes: 0 pass, 1 fail, 2 error at run time (inconclusive, not run, interrupted, no checks),
3 error inside the suite (internal), 4 usage error (bad option, config or file).

Schema (version 2)::

    {
      "schema": 2,
      "run_id": str,                   # this invocation (--run-id, else made at its start): CI checks it
      "verdict": "pass" | "fail" | "error",
      "error_kind": "usage" | "inconclusive" | "not-run" | "internal" | "interrupted" | "no-checks" | null,
      "gate_on": "critical" | "high" | "medium" | "low",
      "reason": str | null,            # why the run failed or errored as a whole (unreachable, bad config)
      "target": {"name": str | null, "base_url": str | null},
      "version": str | null,           # build the target reported in its health endpoint
      "expected_version": str | null,  # --expect-version
      "started_at": ISO-8601 UTC, "finished_at": ISO-8601 UTC, "duration_s": float,
      "requests_sent": int,
      "counts": {"passed": int, "failed": int, "skipped": int, "deselected": int, "flaky": int,
                 "blocking": int, "inconclusive": int,
                 "by_severity": {"critical": {"passed": int, "failed": int, "skipped": int}, ...}},
      "checks": [CheckResult...],      # every check that ran or was skipped
      "failed": [CheckResult...],      # the failed ones, most severe first
      "skipped": [CheckResult...],
      "deselected": [{"check": str, "reason": str}]
    }

    CheckResult = {"check": str, "outcome": "passed" | "failed" | "skipped", "severity": str,
                   "epic": "smoke" | "synthetic" | "security", "feature": str, "required": bool,
                   "blocking": bool, "inconclusive": bool, "message": str | null, "measured": float | null,
                   "budget": float | null, "unit": str | null, "requests": int,
                   "failure_kind": str | null, "attempts": int, "duration_s": float,
                   "details": {...},   # "cause": {"summary": str, "keys": [str]} when it named one
                   "consequence_of": str | null, "consequences": [str]}
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from smokegate.failures import UNDETERMINED, UNDETERMINED_PREFIX, FailureKind
from smokegate.severity import SEVERITIES, Severity, at_or_above, severity_rank

Outcome = Literal["passed", "failed", "skipped"]
Verdict = Literal["pass", "fail", "error"]
ErrorKind = Literal["usage", "inconclusive", "not-run", "internal", "interrupted", "no-checks"]
SCHEMA_VERSION = 2
# The detail a check's record keeps its cause in (smokegate.plugin.run.CheckRecord.cause).
CAUSE = "cause"
# Failure kinds that say the run could not judge the check, not that the target failed it.
UNDETERMINED_KINDS = tuple(sorted(UNDETERMINED))
# The first undetermined check's reason in the one-line explanation, cut here (its row has it whole).
WHY_CHARS = 240
EXIT_CODES: dict[ErrorKind | Verdict, int] = {
    "pass": 0, "fail": 1, "inconclusive": 2, "not-run": 2, "interrupted": 2, "no-checks": 2,
    "internal": 3, "usage": 4,
}


@dataclass
class CheckResult:
    check: str
    outcome: Outcome
    severity: str = Severity.HIGH
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
    # A check at or above the gate level that could not be determined (a network fault on the way, or an
    # error inside the suite): the run cannot judge it, so it does not block but makes the verdict error.
    inconclusive: bool = False
    # One finding per fault: the check whose failure shares this one's cause (it alone blocks), and on
    # that check, every check that failed for the same cause.
    consequence_of: str | None = None
    consequences: list[str] = field(default_factory=list)

    @property
    def cause_keys(self) -> frozenset[str]:
        """What this check's failure is a symptom of, when it is a finding that named its cause."""
        cause = self.details.get(CAUSE)
        if self.outcome != "failed" or self.failure_kind in UNDETERMINED_KINDS or not isinstance(cause, dict):
            return frozenset()
        return frozenset(str(key) for key in cause.get("keys") or ())

    @property
    def cause_summary(self) -> str | None:
        cause = self.details.get(CAUSE)
        return str(cause["summary"]) if isinstance(cause, dict) and cause.get("summary") else None


@dataclass
class Deselected:
    check: str
    reason: str


@dataclass
class GateReport:
    """Everything ``gate.json`` holds; :meth:`finalize` computes the verdict."""

    gate_on: str = Severity.HIGH
    # The invocation this gate describes: ``python -m smokegate.ci --run-id`` refuses any other one's.
    run_id: str | None = None
    target_name: str | None = None
    base_url: str | None = None
    version: str | None = None
    expected_version: str | None = None
    reason: str | None = None
    # Set when the run as a whole could not judge the target (see the module docstring).
    error_kind: ErrorKind | None = None
    unreachable: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    checks: list[CheckResult] = field(default_factory=list)
    deselected: list[Deselected] = field(default_factory=list)
    extra_requests: int = 0
    flaky: int = 0

    def add(self, result: CheckResult) -> None:
        gated = at_or_above(result.severity, self.gate_on)
        undetermined = result.outcome == "failed" and result.failure_kind in UNDETERMINED_KINDS
        result.blocking = result.outcome == "failed" and gated and not undetermined
        result.inconclusive = undetermined and gated
        self.checks.append(result)
        if result.cause_keys:
            self._group(result)

    def _group(self, result: CheckResult) -> None:
        """Fold ``result`` into the finding whose cause it shares: the checks linked to it through shared
        cause keys, one blocking row (the most severe, the first of equals) and its consequences."""
        members, keys = [result], set(result.cause_keys)
        others = [c for c in self.checks if c is not result and c.cause_keys]
        grew = True
        while grew:
            grew = False
            for other in others:
                if other not in members and other.cause_keys & keys:
                    members.append(other)
                    keys |= other.cause_keys
                    grew = True
        if len(members) == 1:
            return
        order = {id(c): i for i, c in enumerate(self.checks)}
        primary = min(members, key=lambda c: (severity_rank(c.severity), order[id(c)]))
        primary.consequence_of = None
        primary.blocking = at_or_above(primary.severity, self.gate_on)
        primary.consequences = [c.check for c in sorted(members, key=lambda c: order[id(c)]) if c is not primary]
        for member in members:
            if member is not primary:
                member.consequence_of, member.consequences, member.blocking = primary.check, [], False

    def fail_usage(self, reason: str) -> None:
        """The run could not start: a bad option, config or file."""
        self.reason, self.error_kind = reason, "usage"

    def fail_unreachable(self, summary: str) -> None:
        """The target cannot be tested (no answer, or not the platform's): a finding, said once."""
        self.reason, self.unreachable = summary, True

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking]

    @property
    def inconclusive(self) -> list[CheckResult]:
        return [c for c in self.checks if c.inconclusive]

    @property
    def not_run(self) -> list[CheckResult]:
        """Required checks that were skipped: the run cannot vouch for what they guard."""
        return [c for c in self.checks if c.outcome == "skipped" and c.required]

    def _judged_error(self) -> ErrorKind | None:
        if self.error_kind is not None:
            return self.error_kind
        if self.unreachable or self.blocking:
            return None
        if any(c.failure_kind == FailureKind.SUITE_ERROR for c in self.inconclusive):
            return "internal"
        if self.inconclusive:
            return "inconclusive"
        if self.not_run:
            return "not-run"
        return None

    @property
    def verdict(self) -> Verdict:
        if self.error_kind is not None:
            return "error"
        if self.unreachable or self.blocking:
            return "fail"
        return "error" if self._judged_error() else "pass"

    @property
    def verdict_error_kind(self) -> ErrorKind | None:
        return self._judged_error() if self.verdict == "error" else None

    @property
    def explanation(self) -> str | None:
        """One line saying why the run failed or errored as a whole; None when the checks say it all."""
        if self.reason:
            return self.reason
        kind = self.verdict_error_kind
        if kind == "internal" and self.inconclusive:
            names = ", ".join(c.check for c in self.inconclusive if c.failure_kind == FailureKind.SUITE_ERROR)
            return f"error inside the suite (a bug, not a finding) in: {names}"
        if kind == "inconclusive":
            # The first check's own reason, not a guess at the cause: a reset on the way, a 429 from in front of
            # the app, a burst slower than the limit's window and a starved load generator all end here.
            first, others = self.inconclusive[0], [c.check for c in self.inconclusive[1:]]
            why = (first.message or "no reason given").splitlines()[0].removeprefix(UNDETERMINED_PREFIX)
            why = why if len(why) <= WHY_CHARS else why[:WHY_CHARS - 1] + "…"
            more = f"; also {', '.join(others[:2])}" if others else ""
            more += f" and {len(others) - 2} more" if len(others) > 2 else ""
            return (f"{len(self.inconclusive)} blocking check(s) could not be determined, which is no finding "
                    f"about the target: {first.check}: {why}{more}")
        if kind == "not-run":
            return "required check(s) did not run: " + ", ".join(c.check for c in self.not_run)
        return None

    @property
    def requests_sent(self) -> int:
        return self.extra_requests + sum(c.requests for c in self.checks)

    def finalize(self) -> None:
        self.finished_at = datetime.now(UTC)

    def counts(self) -> dict[str, Any]:
        by_severity: dict[str, dict[str, int]] = {s: {"passed": 0, "failed": 0, "skipped": 0} for s in SEVERITIES}
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
            "inconclusive": len(self.inconclusive),
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
            "run_id": self.run_id,
            "verdict": self.verdict,
            "error_kind": self.verdict_error_kind,
            "gate_on": self.gate_on,
            "reason": self.explanation,
            "target": {"name": self.target_name, "base_url": self.base_url},
            "version": self.version,
            "expected_version": self.expected_version,
            # Milliseconds: two runs of one target may finish within a second (a watcher's health runs).
            "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "finished_at": finished.isoformat(timespec="milliseconds"),
            "duration_s": round((finished - self.started_at).total_seconds(), 3),
            "requests_sent": self.requests_sent,
            "counts": self.counts(),
            "checks": [asdict(c) for c in self.checks],
            "failed": [asdict(c) for c in failed],
            "skipped": [asdict(c) for c in self.checks if c.outcome == "skipped"],
            "deselected": [asdict(d) for d in self.deselected],
        }

    def exit_code(self) -> int:
        """0 pass, 1 fail, 2-4 error (see the module docstring)."""
        return EXIT_CODES[self.verdict_error_kind or self.verdict]


def same_cause_note(consequences: Sequence[str], limit: int = 5) -> str:
    """What a finding's row says of the other checks that failed for its cause; '' when there are none."""
    if not consequences:
        return ""
    more = f" and {len(consequences) - limit} more" if len(consequences) > limit else ""
    return f"same cause, also failing: {', '.join(consequences[:limit])}{more}"


def new_run_id(target: str | None, when: datetime | None = None) -> str:
    """A run id nobody gave: the start time, the target and a random part (``--run-id`` sets one)."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{target or 'no-target'}-{uuid.uuid4().hex[:8]}"


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
