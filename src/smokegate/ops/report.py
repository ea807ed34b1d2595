"""The daily health report: one self-contained HTML page rendered from the run history.

The operations guide's *Daily Health Report* (24-hour availability, error count, performance) and
its weekly review (``--since 7d``): availability per target (and per location it was tested from)
against the 99.9 % goal, failed-check
count, p50/p95 of every check's measured value against its budget, the slowest checks, failure
kinds and each incident.  Charts are inline SVG and styles are inline; a Content-Security-Policy
forbids every external load, so the page renders the same from an artifact with no network.
This module computes the figures; :mod:`smokegate.ops.report_page` lays them out and the Jinja2
template ``templates/health_report.html.j2`` draws them; :mod:`smokegate.ops.health_report` writes the
page from a history.

Figures carry ``data-*`` attributes (``data-target``, ``data-check``, ``data-metric``,
``data-value``) so tests and scripts can read them without scraping text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from smokegate import timing
from smokegate.failures import kind_of
from smokegate.ops.history import History
from smokegate.severity import SEVERITIES

AVAILABILITY_GOAL = 99.9
MAX_INCIDENTS = 50
SLOWEST = 10
UNKNOWN_LOCATION = "(unknown)"  # runs recorded before locations were
# Only these verdicts are availability samples: an ``error`` run could not judge the target.
JUDGED = ("pass", "fail")
# Periods up to this long are drawn hour by hour and never cut (see clamp).
SHORT_PERIOD = timedelta(days=2)
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """``24h``, ``7d``, ``90m``, ``2w`` as a timedelta; raises ``ValueError`` on anything else."""
    match = _SINCE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since wants a period like 24h, 7d, 90m or 2w, not {text!r}")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise ValueError(f"--since {text.strip()}: longer than any history can be") from None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` (0-1) percentile: :func:`smokegate.timing.percentile`, the one implementation."""
    return timing.percentile(sorted_values, fraction * 100)


# -- the figures -----------------------------------------------------------------------------


@dataclass
class Bucket:
    start: datetime
    runs: int = 0
    passed: int = 0

    @property
    def availability(self) -> float | None:
        return 100.0 * self.passed / self.runs if self.runs else None


@dataclass
class LocationStats:
    """Availability of one target as seen from one location."""

    location: str
    runs: int = 0
    passed: int = 0

    @property
    def availability(self) -> float | None:
        return 100.0 * self.passed / self.runs if self.runs else None


@dataclass
class TargetStats:
    """``runs`` and ``passed`` count availability samples (verdict pass or fail); ``error_runs``
    counts the runs that could not judge the target (bad config, undeterminable checks), which
    are no samples.  ``errors`` is the number of failed checks."""

    target: str
    runs: int = 0
    passed: int = 0
    errors: int = 0
    flaky: int = 0
    error_runs: int = 0
    maintenance_runs: int = 0  # runs inside a maintenance window: no samples either
    buckets: list[Bucket] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    locations: dict[str, LocationStats] = field(default_factory=dict)

    @property
    def availability(self) -> float | None:
        return 100.0 * self.passed / self.runs if self.runs else None


@dataclass
class CheckStats:
    target: str
    check: str
    epic: str
    unit: str
    values: list[float] = field(default_factory=list)
    budget: float | None = None
    runs: int = 0
    failures: int = 0
    p50: float | None = None
    p95: float | None = None

    @property
    def over_budget(self) -> bool:
        return self.p95 is not None and self.budget is not None and self.p95 > self.budget


@dataclass
class Incident:
    incident_id: str
    target: str
    started: datetime
    last_failure: datetime
    recovered: datetime | None
    runs: int
    severity: str
    checks: list[tuple[str, str, int]]
    messages: Counter[str]


@dataclass
class ReportData:
    generated_at: datetime
    since: timedelta
    start: datetime
    bucket: timedelta
    history_name: str
    targets: list[TargetStats]
    checks: list[CheckStats]
    incidents: list[Incident]
    incidents_total: int
    # The period asked for, when it reached back before the history began (``since`` is then shorter).
    asked: timedelta | None = None


def _bucket_size(since: timedelta) -> timedelta:
    if since <= timedelta(days=2):
        return timedelta(hours=1)
    if since <= timedelta(days=14):
        return timedelta(hours=6)
    return timedelta(days=1)


def history_begins(history: History) -> datetime | None:
    """When the history began: its first run, or its creation when that was earlier (None: no trace of either)."""
    first_run = history.query("SELECT MIN(ts) FROM runs")[0][0]
    created = history.query("SELECT MIN(applied_at) FROM schema_migrations")[0][0]
    moments = [datetime.fromtimestamp(float(first_run), UTC)] if first_run is not None else []
    if created:
        moments.append(datetime.fromisoformat(str(created)).astimezone(UTC))
    return min(moments) if moments else None


def clamp(since: timedelta, now: datetime, begins: datetime | None) -> tuple[timedelta, timedelta | None]:
    """The period to cover: ``since``, except that a period of days (longer than two) starts no earlier
    than the day the history began (``--since 99999d`` is not 274 years of empty bars).  The second
    value is the period asked for when it was cut, else None.  A day or two is always as asked: at most
    48 hourly bars, and a daily report stays a daily report however young the history."""
    if begins is None or since <= SHORT_PERIOD:
        return since, None
    start = begins.replace(hour=0, minute=0, second=0, microsecond=0)
    if since <= now - start:
        return since, None
    return max(now - start, SHORT_PERIOD), since


def collect(history: History, *, since: timedelta, now: datetime | None = None) -> ReportData:
    """Everything the page shows, computed from the runs finished in ``[now - since, now]`` (``since``
    cut at the history's beginning: see :func:`clamp`)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since, asked = clamp(since, now, history_begins(history))
    start = now - since
    start_ts, end_ts = start.timestamp(), now.timestamp()
    size = _bucket_size(since)
    bucket_count = max(1, math.ceil(since / size))

    targets: dict[str, TargetStats] = {}
    for target, ts, verdict, failed, flaky, location, maintenance in history.query(
        "SELECT target, ts, verdict, failed, flaky, location, maintenance FROM runs WHERE ts >= ? AND ts <= ?"
        " ORDER BY ts",
        (start_ts, end_ts),
    ):
        stats = targets.get(target)
        if stats is None:
            stats = targets[target] = TargetStats(
                target, buckets=[Bucket(start + i * size) for i in range(bucket_count)]
            )
        stats.errors += failed
        stats.flaky += flaky
        if maintenance is not None:
            stats.maintenance_runs += 1
            continue
        if verdict not in JUDGED:
            stats.error_runs += 1
            continue
        stats.runs += 1
        stats.passed += verdict == "pass"
        where = location or UNKNOWN_LOCATION
        place = stats.locations.get(where)
        if place is None:
            place = stats.locations[where] = LocationStats(where)
        place.runs += 1
        place.passed += verdict == "pass"
        bucket = stats.buckets[min(bucket_count - 1, int((ts - start_ts) // size.total_seconds()))]
        bucket.runs += 1
        bucket.passed += verdict == "pass"
    for stats in targets.values():
        stats.locations = dict(sorted(stats.locations.items()))

    checks: dict[tuple[str, str], CheckStats] = {}
    for target, check_id, epic, unit, measured, budget, outcome, kind in history.query(
        "SELECT target, check_id, epic, unit, measured, budget, outcome, failure_kind FROM checks"
        " WHERE ts >= ? AND ts <= ? ORDER BY ts",
        (start_ts, end_ts),
    ):
        stats_c = checks.get((target, check_id))
        if stats_c is None:
            stats_c = checks[(target, check_id)] = CheckStats(target, check_id, epic or "", unit or "")
        if outcome == "skipped":
            continue
        stats_c.runs += 1
        if measured is not None:
            stats_c.values.append(measured)
        if budget is not None:
            stats_c.budget = budget  # rows come oldest first, so the latest budget wins
        if unit:
            stats_c.unit = unit
        if outcome == "failed":
            stats_c.failures += 1
            if target in targets:
                # Older histories hold since-renamed kinds ("network-transient"): count them as today's.
                known = kind_of(kind)
                targets[target].kinds[str(known) if known is not None else kind or "unclassified"] += 1
    for stats_c in checks.values():
        if stats_c.values:
            ordered = sorted(stats_c.values)
            stats_c.p50, stats_c.p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
        stats_c.values = []  # the raw samples are not needed once summarised

    incidents, total = _incidents(history, start_ts, end_ts)
    return ReportData(
        generated_at=now,
        since=since,
        start=start,
        bucket=size,
        history_name=history.name,
        targets=sorted(targets.values(), key=lambda t: t.target),
        checks=sorted(checks.values(), key=lambda c: (c.target, c.check)),
        incidents=incidents,
        incidents_total=total,
        asked=asked,
    )


def _incidents(history: History, start_ts: float, end_ts: float) -> tuple[list[Incident], int]:
    rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES))
    # An incident belongs to one alert stream (the target's plain runs, or one watch suite from one
    # location): only a passing run of that stream ends it.
    rows = history.query(
        "SELECT incident_id, target, suite, CASE WHEN suite IS NULL THEN NULL ELSE location END,"
        f" MIN(ts), MAX(ts), COUNT(*), MIN(CASE severity {rank} ELSE 9 END) FROM runs"
        " WHERE incident_id IS NOT NULL AND ts <= ? GROUP BY 1, 2, 3, 4"
        " HAVING MAX(ts) >= ? ORDER BY MIN(ts) DESC",
        (end_ts, start_ts),
    )
    incidents = []
    for incident_id, target, suite, location, first, last, runs, severity_rank in rows[:MAX_INCIDENTS]:
        if suite is None:
            stream, params = " AND suite IS NULL", []
        else:
            stream = " AND suite = ?" + (" AND location = ?" if location is not None else " AND location IS NULL")
            params = [suite] + ([location] if location is not None else [])
        recovered = history.query(
            f"SELECT MIN(ts) FROM runs WHERE target = ?{stream} AND ts > ? AND verdict = 'pass'",
            (target, *params, last),
        )[0][0]
        failed = history.query(
            "SELECT c.check_id, COALESCE(c.failure_kind, 'unclassified'), COUNT(*) FROM checks c"
            " JOIN runs r ON r.run_id = c.run_id WHERE r.incident_id = ? AND c.outcome = 'failed'"
            " GROUP BY 1, 2 ORDER BY 3 DESC, 1",
            (incident_id,),
        )
        messages = Counter(
            {
                f"{kind} {status}": count
                for kind, status, count in history.query(
                    "SELECT kind, status, COUNT(*) FROM notifications"
                    " WHERE incident_id = ? AND channel = 'alert'"
                    " GROUP BY 1, 2",
                    (incident_id,),
                )
            }
        )
        incidents.append(
            Incident(
                incident_id,
                target,
                datetime.fromtimestamp(first, UTC),
                datetime.fromtimestamp(last, UTC),
                datetime.fromtimestamp(recovered, UTC) if recovered is not None else None,
                runs,
                SEVERITIES[severity_rank] if severity_rank < len(SEVERITIES) else "unknown",
                [(str(c), str(k), int(n)) for c, k, n in failed],
                messages,
            )
        )
    return incidents, len(rows)
