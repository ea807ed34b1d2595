"""The ops guide's warning signs, and how they raise the severity of a failed check.

A budget check fails at its own severity when its figure is over budget (a response over 500 ms,
an error rate over 1 %).  When the figure is also past one of the guide's warning signs ("Slow
Response Times (>5s)", "Error Rate Increase (>5%)"), the failure is worse than a missed budget:
its severity is raised one step (medium to high, high to critical).  A check says which sign its
figure is judged against (``check_record.measure(..., warning_sign=SLOW_RESPONSE)``); the record
notes a sign that was passed, and the collector raises the severity of the check if it failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from smokegate.severity import SEVERITIES


@dataclass(frozen=True)
class WarningSign:
    name: str
    threshold: float
    unit: str
    shown: str

    def exceeded(self, measured: float, unit: str) -> bool:
        if unit != self.unit:
            raise ValueError(f"warning sign {self.name!r} is in {self.unit}, the figure in {unit}")
        return measured > self.threshold

    def describe(self) -> str:
        return f"past the ops guide's warning sign '{self.name} ({self.shown})'"


SLOW_RESPONSE = WarningSign("slow response times", 5000.0, "ms", "> 5 s")
ERROR_RATE_INCREASE = WarningSign("error rate increase", 5.0, "%", "> 5 %")


def raised(severity: str) -> str:
    """One step more severe; critical stays critical, an unknown severity is left alone."""
    if severity not in SEVERITIES:
        return severity
    return SEVERITIES[max(0, SEVERITIES.index(severity) - 1)]
