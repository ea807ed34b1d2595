"""Timing statistics: the median a budget is judged on, percentiles, and the probe's phases."""

from __future__ import annotations

import pytest

from smokegate.probe import Timing
from smokegate.timing import Samples, percentile


def test_median_of_odd_and_even_counts() -> None:
    assert Samples.of([300, 100, 200]).median == 200
    assert Samples.of([100, 200, 300, 400]).median == 250


def test_one_slow_sample_does_not_move_the_median() -> None:
    samples = Samples.of([120, 110, 2500, 115, 118])
    assert samples.median == 118
    assert samples.max == 2500
    assert samples.min == 110


@pytest.mark.parametrize(("pct", "expected"), [(0, 1), (50, 50.5), (95, 95.05), (100, 100)])
def test_percentile_interpolates_between_ranks(pct: float, expected: float) -> None:
    assert percentile(list(range(1, 101)), pct) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [[], [-1.0], [float("nan")]])
def test_samples_reject_nonsense(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="sample"):
        Samples.of(bad)


def test_describe_states_median_spread_and_count() -> None:
    assert Samples.of([812, 790, 845]).describe() == "median 812 ms (n=3, min 790, max 845)"


def test_timing_knows_fresh_from_reused_connections() -> None:
    fresh = Timing(total_ms=120, ttfb_ms=90, connect_ms=20, tls_ms=35)
    reused = Timing(total_ms=40, ttfb_ms=30)
    assert fresh.fresh and not reused.fresh
    assert "tls 35 ms" in fresh.describe() and "fresh connection" in fresh.describe()
    assert "reused connection" in reused.describe()
    assert reused.as_dict()["connect_ms"] is None
