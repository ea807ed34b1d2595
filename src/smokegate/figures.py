"""Measured values against their budgets, written one way by every report.

The step summary, the HTML report, the CI annotations, the alerts and the operations report all
show "what was measured, against what budget" (``2600 ms / budget 2000 ms``); they round it here,
so a reader comparing an alert with the report sees the same figure.  Rounding: milliseconds and
anything of 100 or more in whole numbers (a tenth of a millisecond is noise on a network timing),
the rest to three significant digits; a ratio's unit is left out (``0.05``, not ``0.05 ratio``).
"""

from __future__ import annotations

# Units that are never written after the figure.
SILENT_UNITS = frozenset({"", "ratio"})


def number(value: float, unit: str | None = None) -> str:
    """``value`` rounded as every report rounds it, without its unit."""
    return f"{value:.0f}" if unit == "ms" or abs(value) >= 100 else f"{value:.3g}"


def figure(value: float, unit: str | None = None) -> str:
    """``2600 ms``: the value rounded, with its unit (none for a ratio)."""
    text = number(value, unit)
    return text if (unit or "") in SILENT_UNITS else f"{text} {unit}"


def measured_vs_budget(measured: float | None, budget: float | None, unit: str | None = None,
                       *, against: str = " / budget ") -> str:
    """``2600 ms / budget 2000 ms``; only the measured figure without a budget; empty when nothing was measured."""
    if measured is None:
        return ""
    text = figure(measured, unit)
    return text if budget is None else f"{text}{against}{figure(budget, unit)}"
