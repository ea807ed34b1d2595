"""What the gate report shows at its top, prepared from ``gate.json``'s one verdict.

Pure data for the templates (no pytest, no markup): the verdict banner (verdict, target, version
against the expected one, gate level, counts by severity, duration, requests) and the short list
of checks that decided it — each with its severity, measured value against its budget as a bar
position, its one-line reason, its failure kind and what that kind means, and links to its
evidence.  Built from the ``gate.json`` dict, so the HTML report cannot disagree with the exit
code, the summary or the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from smokegate.failures import kind_of
from smokegate.gate import CheckResult
from smokegate.severity import SEVERITIES, Severity, at_or_above
from smokegate.summary import VERDICT_WORDS, measured_vs_budget
from smokegate.templating import ratio_position

MESSAGE_LIMIT = 280
EVIDENCE_LABELS = {
    "screenshot": "screenshot",
    "trace": "trace",
    "video": "video",
    "console": "console log",
    "requests": "failed requests",
}
ERROR_WORDS = {
    "usage": "the run could not start: a bad option, config or file (exit 4)",
    "inconclusive": "blocking checks could not be determined: the network failed on the way (exit 2)",
    "not-run": "required checks did not run (exit 2)",
    "internal": "an error inside the suite itself, a bug and not a finding (exit 3)",
    "interrupted": "the run was interrupted before it could judge every check (exit 2)",
    "no-checks": "no checks ran (exit 2)",
}


@dataclass(frozen=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True)
class Bar:
    """Measured against budget on the shared log scale (:func:`smokegate.templating.ratio_position`)."""

    percent: str  # "156 % of budget"
    position: float  # 0..1 along the bar
    capped: bool
    over: bool


@dataclass(frozen=True)
class CheckLine:
    check: str
    severity: str
    outcome: str
    blocking: bool
    message: str
    kind: str | None
    kind_cause: str | None
    outage: bool
    figures: str
    bar: Bar | None
    evidence: list[Link] = field(default_factory=list)
    anchor: str | None = None
    # One finding per fault: what the check's failure is a symptom of, and the other checks failing for it.
    cause: str | None = None
    consequences: list[str] = field(default_factory=list)
    consequence_of: str | None = None


@dataclass(frozen=True)
class SeverityCount:
    severity: str
    gated: bool
    passed: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class GateView:
    verdict: str
    word: str
    headline: str
    reason: str | None
    error_kind: str | None
    target: str
    base_url: str
    version: str
    version_state: str  # "matches", "mismatch", "unknown", "unchecked"
    expected_version: str | None
    gate_on: str
    gated: list[str]
    total: int
    counts: dict[str, int]
    by_severity: list[SeverityCount]
    duration: str
    requests: int
    started_at: str
    decisive: list[CheckLine]
    undetermined: list[CheckLine]
    below_gate: int
    deselected: list[str]
    deselected_reason: str | None


def one_line(text: str | None, limit: int = MESSAGE_LIMIT) -> str:
    """A message as one line a reader takes in at a glance (the full text stays in the table)."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def evidence_links(evidence: Sequence[tuple[str, str]]) -> list[Link]:
    """Links to a check's artifacts, numbered when a kind repeats (one trace per browser context)."""
    totals: dict[str, int] = {}
    for kind, _ in evidence:
        totals[kind] = totals.get(kind, 0) + 1
    seen: dict[str, int] = {}
    links = []
    for kind, href in evidence:
        seen[kind] = seen.get(kind, 0) + 1
        label = EVIDENCE_LABELS.get(kind, kind)
        links.append(Link(f"{label} {seen[kind]}" if totals[kind] > 1 else label, href))
    return links


def kind_cause(kind: str | None, details: Mapping[str, Any] | None = None) -> str | None:
    """What a failure kind means for whoever reads it, its ``{deps}`` filled from the check's details."""
    known = kind_of(kind)
    if known is None:
        return None
    dependency = (details or {}).get("dependency")
    return known.meaning.cause.format(deps=f": {dependency}" if dependency else "")


def bar_of(result: CheckResult) -> Bar | None:
    if result.measured is None or not result.budget:
        return None
    ratio = result.measured / result.budget
    position, capped = ratio_position(ratio)
    return Bar(percent=f"{100 * ratio:.0f} % of budget", position=position, capped=capped,
               over=result.measured > result.budget)


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def check_line(
    data: Mapping[str, Any], evidence: Sequence[tuple[str, str]] = (), anchor: str | None = None
) -> CheckLine:
    result = CheckResult(**{k: v for k, v in data.items() if k in CheckResult.__dataclass_fields__})
    kind = result.failure_kind
    known = kind_of(kind)
    return CheckLine(
        check=result.check,
        severity=result.severity,
        outcome=result.outcome,
        blocking=result.blocking,
        message=one_line(result.message),
        kind=kind,
        kind_cause=kind_cause(kind, result.details),
        outage=known.outage if known is not None else True,
        figures=measured_vs_budget(result),
        bar=bar_of(result),
        evidence=evidence_links(evidence),
        anchor=anchor,
        cause=result.cause_summary,
        consequences=list(result.consequences),
        consequence_of=result.consequence_of,
    )


def _cause_once(lines: list[CheckLine]) -> list[CheckLine]:
    """What a failure kind means, said at its first check only: the list stays short."""
    seen: set[str | None] = set()
    kept = []
    for line in lines:
        kept.append(line if line.kind not in seen else replace(line, kind_cause=None))
        seen.add(line.kind)
    return kept


def _version_state(version: str | None, expected: str | None) -> str:
    if not expected:
        return "unchecked"
    if not version:
        return "unknown"
    return "matches" if version == expected else "mismatch"


def gate_view(
    gate: Mapping[str, Any],
    *,
    evidence: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    anchors: Mapping[str, str] | None = None,
) -> GateView:
    """The banner and the decisive checks of one run (``gate``: a ``gate.json`` dict).

    ``evidence`` maps a check id to its kept artifacts as ``(kind, href)``, hrefs relative to the
    page; ``anchors`` maps a check id to the id of its row in the results table.
    """
    evidence = evidence or {}
    anchors = anchors or {}
    counts = dict(gate.get("counts") or {})
    verdict = str(gate.get("verdict", "error"))
    gate_on = str(gate.get("gate_on", Severity.HIGH))
    target = gate.get("target") or {}
    checks = list(gate.get("checks") or [])
    by_sev = (counts.get("by_severity") or {})

    def line(item: Mapping[str, Any]) -> CheckLine:
        return check_line(item, evidence.get(item["check"], ()), anchors.get(item["check"]))

    failed = list(gate.get("failed") or [])
    decisive = _cause_once([line(c) for c in failed if c.get("blocking")])
    undetermined = [line(c) for c in failed if c.get("inconclusive")]
    # A failing run with a reason of its own could not test the target at all (unreachable, or not
    # the platform): nothing ran, and the banner already says why, once.
    untestable = verdict == "fail" and bool(gate.get("reason"))
    if not untestable:
        undetermined += [line(c) for c in checks if c.get("outcome") == "skipped" and c.get("required")]
    below = sum(1 for c in failed if not c.get("blocking") and not c.get("inconclusive"))
    severities = [
        SeverityCount(s, at_or_above(s, gate_on), *(int(by_sev.get(s, {}).get(k, 0))
                                                    for k in ("passed", "failed", "skipped")))
        for s in SEVERITIES
    ]
    error_kind = gate.get("error_kind")
    headline = ERROR_WORDS.get(str(error_kind), VERDICT_WORDS["error"]) if verdict == "error" else (
        VERDICT_WORDS.get(verdict, verdict))
    if untestable:
        headline = "the target cannot be tested, and that is a finding"
    deselected = [str(d.get("check")) for d in gate.get("deselected") or []]
    return GateView(
        verdict=verdict,
        word=verdict.upper(),
        headline=headline,
        reason=gate.get("reason"),
        error_kind=error_kind,
        target=str(target.get("name") or "no target"),
        base_url=str(target.get("base_url") or "no URL"),
        version=str(gate.get("version") or "unknown"),
        version_state=_version_state(gate.get("version"), gate.get("expected_version")),
        expected_version=gate.get("expected_version"),
        gate_on=gate_on,
        gated=[s for s in SEVERITIES if at_or_above(s, gate_on)],
        total=len(checks),
        counts={k: int(counts.get(k, 0)) for k in
                ("passed", "failed", "skipped", "deselected", "flaky", "blocking", "inconclusive")},
        by_severity=[s for s in severities if s.passed or s.failed or s.skipped],
        duration=duration_text(float(gate.get("duration_s") or 0.0)),
        requests=int(gate.get("requests_sent") or 0),
        started_at=str(gate.get("started_at") or ""),
        decisive=decisive,
        undetermined=undetermined,
        below_gate=below,
        deselected=deselected,
        deselected_reason=(gate.get("deselected") or [{}])[0].get("reason") if deselected else None,
    )

