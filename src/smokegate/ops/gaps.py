"""Gaps in ``smokegate watch``'s schedule, from the history alone (pure apart from the one query).

Each watch stream (target, suite, location) starts its runs on a fixed grid; the history keeps every
start.  A gap is a stretch with no start where the stream's own rhythm (the median time between its
starts) said one was due: more than 2.5 intervals, and at least a minute, without a run.  A stream
whose last run is older than that is still in its gap at the end of the period ("no run since").
Together with the heartbeat (:mod:`smokegate.ops.heartbeat`), which tells an outside service when
the watcher itself stops, this shows in the daily report when the monitor was not monitoring.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from statistics import median
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smokegate.ops.history import History

GAP_FACTOR = 2.5
MIN_GAP_S = 60.0
MIN_RUNS = 4  # fewer starts give no rhythm to measure a gap against


@dataclass(frozen=True)
class Gap:
    target: str
    suite: str
    location: str | None
    start: datetime  # the last start before the gap
    end: datetime | None  # the first start after it; None when the stream has not run since
    interval_s: float  # the stream's usual time between starts

    def length_s(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds()


def find_gaps(starts: Sequence[float], *, now: float) -> tuple[float | None, list[tuple[float, float | None]]]:
    """The usual interval of sorted start times and the gaps among them (and after the last one)."""
    if len(starts) < MIN_RUNS:
        return None, []
    usual = median(b - a for a, b in pairwise(starts))
    if usual <= 0:
        return None, []
    limit = max(GAP_FACTOR * usual, MIN_GAP_S)
    found: list[tuple[float, float | None]] = [(a, b) for a, b in pairwise(starts) if b - a > limit]
    if now - starts[-1] > limit:
        found.append((starts[-1], None))
    return usual, found


def schedule_gaps(history: History, *, start: datetime, end: datetime) -> list[Gap]:
    """Every watch stream's gaps that overlap ``[start, end]``, oldest first."""
    streams: dict[tuple[str, str, str | None], list[float]] = defaultdict(list)
    for target, suite, location, started_at in history.query(
        "SELECT target, suite, location, started_at FROM runs WHERE suite IS NOT NULL AND ts >= ? AND ts <= ?",
        (start.timestamp() - 86_400, end.timestamp()),  # a day before: the rhythm, and a gap that began then
    ):
        try:
            moment = datetime.fromisoformat(str(started_at).replace("Z", "+00:00"))
        except ValueError:
            continue
        streams[(str(target), str(suite), location)].append(
            (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    gaps = []
    for (target, suite, location), starts in sorted(streams.items(), key=lambda item: (item[0][0], item[0][1],
                                                                                       item[0][2] or "")):
        usual, found = find_gaps(sorted(starts), now=end.timestamp())
        for begin, finish in found:
            if (finish or end.timestamp()) < start.timestamp():
                continue
            gaps.append(Gap(target, suite, location, datetime.fromtimestamp(begin, UTC),
                            None if finish is None else datetime.fromtimestamp(finish, UTC), float(usual or 0)))
    return sorted(gaps, key=lambda g: g.start)
