"""The daily report's sections beyond the checks: what the providers' APIs said, and when nobody watched.

- **User activity** (Clerk: users, users active in the last day, active sessions) and **Payments**
  (Stripe: success rate, succeeded and failed charges, undelivered events), each figure's latest
  value, its range over the period and its trend (median per hour, or per day for the weekly
  review), from the ``figures`` the providers' checks recorded with their runs;
- **Backups and migrations** (Supabase: newest backup's age, retention, point-in-time recovery,
  migrations applied and pending): the weekly review's backup verification;
- **Maintenance windows**: the runs inside one, counted apart (no availability sample);
- **Watcher schedule**: gaps in ``smokegate watch``'s runs (:mod:`smokegate.ops.gaps`).

Counts and ratios only: the figures never held anything that identifies a person.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from smokegate import timing
from smokegate.ops.gaps import schedule_gaps
from smokegate.ops.report_format import Sparkline, duration, sparkline, trend_step, when

if TYPE_CHECKING:
    from smokegate.ops.history import History
    from smokegate.ops.report import ReportData

# (figure name, label, unit, how to show a value)
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("activity", "User activity (Clerk)", (
        ("users.active_24h", "users active in the last 24 h", "users"),
        ("sessions.active", "active sessions", "sessions"),
        ("users.total", "users", "users"),
    )),
    ("payments", "Payments (Stripe)", (
        ("payments.success_ratio", "payment success, last 24 h", "%"),
        ("payments.succeeded", "charges succeeded, last 24 h", "charges"),
        ("payments.failed", "charges failed, last 24 h", "charges"),
        ("payments.failed_deliveries", "events not delivered, last 24 h", "events"),
    )),
    ("backups", "Backups and migrations (Supabase)", (
        ("backups.newest_age_h", "newest backup's age", "h"),
        ("backups.retention_days", "oldest restorable point", "days"),
        ("backups.pitr", "point-in-time recovery", "on/off"),
        ("migrations.pending", "migrations not applied", "migrations"),
        ("migrations.applied", "migrations applied", "migrations"),
    )),
)


def show(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "on/off":
        return "on" if value >= 0.5 else "off"
    if unit in ("h", "days"):
        return f"{value:.1f} {unit}"
    return f"{value:.0f}"


@dataclass(frozen=True)
class FigureRow:
    name: str
    label: str
    latest: str
    latest_value: float
    low: str
    high: str
    trend: Sparkline | None


@dataclass(frozen=True)
class FigureTable:
    key: str
    title: str
    target: str
    rows: list[FigureRow]


@dataclass(frozen=True)
class GapRow:
    target: str
    suite: str
    location: str
    start: str
    end: str
    length: str
    usual: str


@dataclass
class Extras:
    tables: list[FigureTable] = field(default_factory=list)
    maintenance: list[tuple[str, str, int]] = field(default_factory=list)  # target, window, runs
    gaps: list[GapRow] = field(default_factory=list)
    watched: bool = False  # the period holds runs of smokegate watch (else there is no schedule to judge)


def collect_extras(history: History, data: ReportData) -> Extras:
    start, end = data.start, data.generated_at
    step = trend_step(data.since)
    count = max(1, math.ceil(data.since / step))
    samples: dict[tuple[str, str], list[list[float]]] = {}
    latest: dict[tuple[str, str], float] = {}
    for target, name, ts, value in history.query(
        "SELECT target, name, ts, value FROM figures WHERE ts >= ? AND ts <= ? ORDER BY ts",
        (start.timestamp(), end.timestamp()),
    ):
        buckets = samples.setdefault((target, name), [[] for _ in range(count)])
        index = int((ts - start.timestamp()) // step.total_seconds())
        buckets[min(index, count - 1)].append(float(value))
        latest[(target, name)] = float(value)
    extras = Extras()
    targets = sorted({target for target, _ in samples})
    for key, title, figures in SECTIONS:
        for target in targets:
            rows = []
            for name, label, unit in figures:
                if (target, name) not in samples:
                    continue
                buckets = samples[(target, name)]
                values = [v for bucket in buckets for v in bucket]
                medians = [timing.percentile(sorted(b), 50) if b else None for b in buckets]
                rows.append(FigureRow(name, label, show(latest[(target, name)], unit), latest[(target, name)],
                                      show(min(values), unit), show(max(values), unit),
                                      sparkline(medians, "" if unit in ("%", "on/off") else unit, step)))
            if rows:
                extras.tables.append(FigureTable(key, title, target, rows))
    extras.maintenance = [(str(t), str(w), int(n)) for t, w, n in history.query(
        "SELECT target, maintenance, COUNT(*) FROM runs WHERE ts >= ? AND ts <= ? AND maintenance IS NOT NULL"
        " GROUP BY 1, 2 ORDER BY 1, 2", (start.timestamp(), end.timestamp()))]
    extras.watched = bool(history.query(
        "SELECT 1 FROM runs WHERE suite IS NOT NULL AND ts >= ? AND ts <= ? LIMIT 1",
        (start.timestamp(), end.timestamp())))
    for gap in schedule_gaps(history, start=start, end=end):
        extras.gaps.append(GapRow(
            gap.target, gap.suite, gap.location or "(unknown)", when(gap.start),
            when(gap.end) if gap.end else "no run since", duration(timedelta(seconds=gap.length_s(end))),
            f"every {_seconds(gap.interval_s)}",
        ))
    return extras


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.0f} min"


def by_key(extras: Extras) -> dict[str, list[FigureTable]]:
    grouped: dict[str, list[FigureTable]] = defaultdict(list)
    for table in extras.tables:
        grouped[table.key].append(table)
    return grouped

