"""The guide's incident scale, in one place: severities from most to least severe."""

from __future__ import annotations

from typing import Literal

SEVERITIES = ("critical", "high", "medium", "low")
Severity = Literal["critical", "high", "medium", "low"]


def severity_rank(severity: str) -> int:
    """0 for critical, 3 for low: lower is more severe."""
    return SEVERITIES.index(severity)


def at_or_above(severity: str, gate_on: str) -> bool:
    return severity_rank(severity) <= severity_rank(gate_on)


def most_severe(severities: list[str]) -> str | None:
    """The most severe of the known severities given; None when there is none."""
    known = [s for s in severities if s in SEVERITIES]
    return min(known, key=severity_rank) if known else None
