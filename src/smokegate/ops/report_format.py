"""How the health report writes its figures: numbers, times, durations, the trend's step, sparklines.

Shared by the page (:mod:`smokegate.ops.report_page`) and its provider sections
(:mod:`smokegate.ops.provider_report`), which the page lays out: both import this, neither the other's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


def fmt(value: float | None) -> str:
    """Measured values: whole numbers above 100, one decimal above 1, three significant digits below."""
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes // 60} h {minutes % 60:02d} min"


def trend_step(since: timedelta) -> timedelta:
    """p50 per hour for a day or two, per day for the weekly review and longer."""
    return timedelta(hours=1) if since <= timedelta(days=2) else timedelta(days=1)


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    segments: list[str]  # SVG polyline points, one per run of consecutive buckets with a value
    last: tuple[float, float] | None
    low: str
    high: str
    title: str


def sparkline(values: Sequence[float | None], unit: str, step: timedelta, width: int = 120,
              height: int = 24) -> Sparkline | None:
    """p50 per step as a line through the steps that had a value (empty steps are bridged)."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None
    low, high = min(known), max(known)
    span = high - low or 1.0
    x_step = (width - 4) / max(1, len(values) - 1)
    points: list[tuple[float, float]] = []
    for index, value in enumerate(values):
        if value is None:
            continue
        # A constant series is a flat line through the middle, not along the floor.
        level = 0.5 if high == low else (value - low) / span
        points.append((2 + index * x_step, 2 + (height - 4) * (1 - level)))
    every = "hour" if step <= timedelta(hours=1) else "day"
    return Sparkline(width, height, [" ".join(f"{x:.1f},{y:.1f}" for x, y in points)], points[-1], fmt(low),
                     fmt(high), f"p50 per {every}, oldest left: {fmt(low)} to {fmt(high)} {unit}".strip())
