"""One measured-vs-budget formatter: every report writes the same figure for the same check."""

from __future__ import annotations

import pytest

from smokegate import ci
from smokegate.figures import figure, measured_vs_budget, number
from smokegate.gate import CheckResult
from smokegate.ops.alerts import _describe_check
from smokegate.summary import measured_vs_budget as summary_figures


@pytest.mark.parametrize(("value", "unit", "written"), [
    (2612.345, "ms", "2612 ms"),  # milliseconds: whole, a tenth of one is noise
    (45.67, "ms", "46 ms"),
    (0.4, "ms", "0 ms"),
    (1234.5, "requests", "1234 requests"),  # 100 and more: whole ({:.0f}, round half to even)
    (45.67, "kB", "45.7 kB"),  # below 100: three significant digits
    (4.567, "s", "4.57 s"),
    (0.012345, "ratio", "0.0123"),  # a ratio is written without its unit
    (3.0, None, "3"),
    (-12.5, "%", "-12.5 %"),
])
def test_a_figure_is_rounded_one_way(value: float, unit: str | None, written: str) -> None:
    assert figure(value, unit) == written
    assert number(value, unit) == written.split(" ")[0]


def test_measured_against_budget_and_without() -> None:
    assert measured_vs_budget(2600.4, 2000, "ms") == "2600 ms / budget 2000 ms"
    assert measured_vs_budget(0.0512, None, "ratio") == "0.0512"
    assert measured_vs_budget(None, 2000, "ms") == ""
    assert measured_vs_budget(2600, 2000, "ms", against=" vs budget ") == "2600 ms vs budget 2000 ms"


@pytest.mark.parametrize(("measured", "budget", "unit", "written"), [
    (2612.345, 2000.0, "ms", "2612 ms / budget 2000 ms"),
    (0.07126, 0.05, "ratio", "0.0713 / budget 0.05"),
    (87.25, None, "kB", "87.2 kB"),
])
def test_the_summary_the_annotations_and_the_alerts_write_the_same_figures(
        measured: float, budget: float | None, unit: str, written: str) -> None:
    # Before: the summary wrote "2612 ms", the CI annotation and the alert "2612.35 ms".
    check = {"check": "c", "measured": measured, "budget": budget, "unit": unit, "severity": "high",
             "failure_kind": "budget-exceeded", "message": "slow"}
    result = CheckResult("c", "failed", measured=measured, budget=budget, unit=unit)
    assert summary_figures(result) == written
    assert ci._figures(check) == f" [{written}]"
    assert f" — measured {written.replace(' / budget ', ' vs budget ')}:" in _describe_check(check)
