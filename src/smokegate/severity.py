"""The guide's incident scale, in one place: severities from most to least severe, and their ranking.

:class:`Severity` is a ``StrEnum``: a member is its name wherever a string goes (gate.json, the
history, the reports), and comparisons with the stored strings hold.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Most severe first: the order of the scale is the order of the enum.
SEVERITIES: tuple[Severity, ...] = tuple(Severity)
# Where a severity outside the scale sorts: after every known one (one digit, as the HTML report's hidden
# sort key has always written it).
UNKNOWN_RANK = 9


def severity_rank(severity: str, *, strict: bool = True) -> int:
    """0 for critical, 3 for low: lower is more severe.  Outside the scale: ValueError, or (not
    ``strict``, for what only sorts, such as a report's table) :data:`UNKNOWN_RANK`."""
    if severity in SEVERITIES:
        return SEVERITIES.index(Severity(severity))
    if strict:
        raise ValueError(f"{severity!r} is not a severity (one of {', '.join(SEVERITIES)})")
    return UNKNOWN_RANK


def at_or_above(severity: str, gate_on: str) -> bool:
    return severity_rank(severity) <= severity_rank(gate_on)


def most_severe(severities: list[str]) -> Severity | None:
    """The most severe of the known severities given; None when there is none."""
    known = [Severity(s) for s in severities if s in SEVERITIES]
    return min(known, key=severity_rank) if known else None
