"""Timing statistics of page loads and Cumulative Layout Shift's session windows."""

from __future__ import annotations

import pytest

from smokegate.synthetic.vitals import PageLoad, PageLoads, cumulative_layout_shift


def test_cls_sums_one_session_window() -> None:
    assert cumulative_layout_shift([(100, 0.05, False), (400, 0.07, False)]) == pytest.approx(0.12)


def test_cls_takes_the_worst_window_not_the_total() -> None:
    # A gap of 1 s or more starts a new window: the score is the worst window, 0.09.
    shifts = [(100, 0.04, False), (300, 0.05, False), (2000, 0.08, False)]
    assert cumulative_layout_shift(shifts) == pytest.approx(0.09)


def test_cls_windows_last_at_most_five_seconds() -> None:
    shifts = [(t, 0.03, False) for t in range(0, 7000, 500)]
    assert cumulative_layout_shift(shifts) == pytest.approx(0.30)


def test_cls_ignores_shifts_after_input() -> None:
    assert cumulative_layout_shift([(100, 0.5, True), (200, 0.01, False)]) == pytest.approx(0.01)


def _load(load: float, lcp: float | None = 100.0, **events: tuple[str, ...]) -> PageLoad:
    raw = {"load": load, "ttfb": 10, "dcl": load / 2, "lcp": lcp, "shifts": [], "status": 200}
    return PageLoad.from_browser(raw, wall_ms=load + 50, **events)


def test_median_min_max_over_loads() -> None:
    loads = PageLoads("/pricing", [_load(3012), _load(2900), _load(3400)])
    assert (loads.load.median, loads.load.min, loads.load.max, loads.load.n) == (3012, 2900, 3400, 3)
    assert loads.load.describe() == "median 3012 ms (n=3, min 2900, max 3400)"


def test_events_are_reported_once_across_loads() -> None:
    loads = PageLoads("/", [_load(1, console_errors=("boom",)), _load(1, console_errors=("boom", "bang"))])
    assert loads.console_errors == ["boom", "bang"]


def test_no_lcp_is_none_not_zero() -> None:
    assert PageLoads("/", [_load(1, lcp=None)]).lcp is None
