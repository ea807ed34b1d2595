"""Statistics over timing samples: the median a budget is judged on, with its spread.

Budgets are judged on the median of several samples, never on one: a single slow answer on a
noisy network is not an outage, and a single fast one does not prove health.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Samples:
    """Timing samples in milliseconds, in the order they were taken."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Samples:
        values = tuple(float(v) for v in values)
        if not values:
            raise ValueError("no samples")
        if any(v < 0 or math.isnan(v) for v in values):
            raise ValueError("samples must be non-negative numbers")
        return cls(values)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def p95(self) -> float:
        return percentile(self.values, 95)

    def describe(self, unit: str = "ms") -> str:
        return (
            f"median {self.median:.0f} {unit} (n={self.n}, min {self.min:.0f}, max {self.max:.0f})"
        )
