"""The daily health report: one self-contained HTML page rendered from the run history.

The operations guide's *Daily Health Report* (24-hour availability, error count, performance) and
its weekly review (``--since 7d``): availability per target (and per location it was tested from)
against the 99.9 % goal, failed-check
count, p50/p95 of every check's measured value against its budget, the slowest checks, failure
kinds and each incident.  Charts are inline SVG and styles are inline; a Content-Security-Policy
forbids every external load, so the page renders the same from an artifact with no network.

Figures carry ``data-*`` attributes (``data-target``, ``data-check``, ``data-metric``,
``data-value``) so tests and scripts can read them without scraping text.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smokegate.failures import kind_of
from smokegate.ops.history import History, HistorySource

AVAILABILITY_GOAL = 99.9
SEVERITY_ORDER = ("critical", "high", "medium", "low")
MAX_INCIDENTS = 50
SLOWEST = 10
UNKNOWN_LOCATION = "(unknown)"  # runs recorded before locations were
# Only these verdicts are availability samples: an ``error`` run could not judge the target.
JUDGED = ("pass", "fail")
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """``24h``, ``7d``, ``90m``, ``2w`` as a timedelta; raises ``ValueError`` on anything else."""
    match = _SINCE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since wants a period like 24h, 7d, 90m or 2w, not {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, ``statistics`` "inclusive")."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


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


def _bucket_size(since: timedelta) -> timedelta:
    if since <= timedelta(days=2):
        return timedelta(hours=1)
    if since <= timedelta(days=14):
        return timedelta(hours=6)
    return timedelta(days=1)


def collect(history: History, *, since: timedelta, now: datetime | None = None) -> ReportData:
    """Everything the page shows, computed from the runs finished in ``[now - since, now]``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = now - since
    start_ts, end_ts = start.timestamp(), now.timestamp()
    size = _bucket_size(since)
    bucket_count = max(1, math.ceil(since / size))

    targets: dict[str, TargetStats] = {}
    for target, ts, verdict, failed, flaky, location in history.query(
        "SELECT target, ts, verdict, failed, flaky, location FROM runs WHERE ts >= ? AND ts <= ? ORDER BY ts",
        (start_ts, end_ts),
    ):
        stats = targets.get(target)
        if stats is None:
            stats = targets[target] = TargetStats(
                target, buckets=[Bucket(start + i * size) for i in range(bucket_count)]
            )
        stats.errors += failed
        stats.flaky += flaky
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
    )


def _incidents(history: History, start_ts: float, end_ts: float) -> tuple[list[Incident], int]:
    rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITY_ORDER))
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
                SEVERITY_ORDER[severity_rank] if severity_rank < len(SEVERITY_ORDER) else "unknown",
                [(str(c), str(k), int(n)) for c, k, n in failed],
                messages,
            )
        )
    return incidents, len(rows)


# -- rendering ---------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;
background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde1e8}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#5d6677}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #dde1e8;border-radius:8px;padding:12px 16px;
min-width:260px}.big{font-size:28px;font-weight:600}.ok{color:#1a7f37}.bad{color:#c62828}.warn{color:#9a6700}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border-bottom:1px solid #e8ebf0;padding:4px 10px;
text-align:left;vertical-align:top}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;margin:6px 0}svg text{font:11px system-ui,sans-serif;fill:#1d2330}
.incident{border-left:4px solid #c62828;padding:4px 12px;margin:10px 0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: float | None) -> str:
    """Measured values: whole numbers above 100, one decimal above 1, three significant digits below."""
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _raw(value: float | None) -> str:
    return "" if value is None else repr(value)


def _row(label: str, metric: str, value: int) -> str:
    return f'<tr><td>{_e(label)}</td><td class="num" data-metric="{metric}">{value}</td></tr>'


def fmt_pct(value: float | None) -> str:
    # Three decimals: 99.896 must not print as 99.90 and pass for the 99.9 % goal.
    return "–" if value is None else f"{value:.3f} %"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes // 60} h {minutes % 60:02d} min"


def _availability_chart(stats: TargetStats, bucket: timedelta) -> str:
    """Bars per time bucket on a 90-100 % (or 0-100 %) scale, with the 99.9 % goal line."""
    width, height, pad_left, pad_bottom = 640, 140, 40, 18
    values = [b.availability for b in stats.buckets]
    known = [v for v in values if v is not None]
    floor = 90.0 if known and min(known) >= 90 else 0.0
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - 8
    step = plot_w / max(1, len(values))

    def y(value: float) -> float:
        return 8 + plot_h * (1 - (value - floor) / (100 - floor))

    parts = [
        f'<svg class="chart availability" data-target="{_e(stats.target)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Availability of {_e(stats.target)} per '
        f'{_e(_duration(bucket))} against the {AVAILABILITY_GOAL} % goal">',
        f'<text x="0" y="{y(100) + 4:.1f}">100 %</text>',
        f'<text x="0" y="{y(floor) + 4:.1f}">{floor:.0f} %</text>',
    ]
    for index, (bucket_data, value) in enumerate(zip(stats.buckets, values, strict=True)):
        x = pad_left + index * step
        if value is None:
            parts.append(
                f'<rect x="{x:.1f}" y="{y(100):.1f}" width="{max(1.0, step - 1):.1f}" '
                f'height="{plot_h:.1f}" fill="#eef0f4"><title>{_e(_when(bucket_data.start))}: no runs'
                "</title></rect>"
            )
            continue
        colour = "#2da44e" if value >= AVAILABILITY_GOAL else ("#d29922" if value >= 99 else "#cf222e")
        top = y(max(value, floor))
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" width="{max(1.0, step - 1):.1f}" '
            f'height="{8 + plot_h - top:.1f}" fill="{colour}" data-value="{value:.3f}">'
            f"<title>{_e(_when(bucket_data.start))}: {value:.3f} % of {bucket_data.runs} runs</title></rect>"
        )
    goal_y = y(AVAILABILITY_GOAL)
    parts.append(
        f'<line class="goal" x1="{pad_left}" x2="{width - 8}" y1="{goal_y:.1f}" y2="{goal_y:.1f}" '
        'stroke="#1d2330" stroke-dasharray="4 3"/>'
    )
    parts.append(f'<text x="{pad_left + 2}" y="{height - 4}">{_e(_when(stats.buckets[0].start))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _latency_chart(target: str, checks: Sequence[CheckStats]) -> str:
    """One row per check: p50 and p95 bars with the budget as a tick, each row on its own scale."""
    rows = [c for c in checks if c.p50 is not None]
    if not rows:
        return '<p class="muted">No measured values in this period.</p>'
    label_w, bar_w, row_h = 220, 380, 30
    width, height = label_w + bar_w + 150, row_h * len(rows) + 20
    parts = [
        f'<svg class="chart latency" data-target="{_e(target)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="p50 and p95 per check against budget, {_e(target)}">',
        f'<text x="{label_w}" y="12">p50 (light) · p95 (dark) · budget (black tick); each row scaled to its '
        "own budget</text>",
    ]
    for index, check in enumerate(rows):
        top = 20 + index * row_h
        p50, p95 = check.p50 or 0.0, check.p95 or 0.0
        scale_max = max(p95, check.budget or 0.0, 1e-9) * 1.1
        w50, w95 = bar_w * p50 / scale_max, bar_w * p95 / scale_max
        colour = "#cf222e" if check.over_budget else "#0969da"
        parts.append(
            f'<g class="row" data-check="{_e(check.check)}">'
            f'<text x="0" y="{top + 14}">{_e(check.check)}</text>'
            f'<rect class="p95" x="{label_w}" y="{top + 2}" width="{w95:.1f}" height="18" fill="{colour}" '
            f'opacity="0.45" data-value="{p95:.6g}"><title>p95 {fmt(p95)} {_e(check.unit)}</title></rect>'
            f'<rect class="p50" x="{label_w}" y="{top + 6}" width="{w50:.1f}" height="10" fill="{colour}" '
            f'data-value="{p50:.6g}"><title>p50 {fmt(p50)} {_e(check.unit)}</title></rect>'
        )
        if check.budget is not None:
            bx = label_w + bar_w * check.budget / scale_max
            parts.append(
                f'<line class="budget" x1="{bx:.1f}" x2="{bx:.1f}" y1="{top}" y2="{top + 22}" '
                f'stroke="#1d2330" stroke-width="2" data-value="{check.budget:.6g}"/>'
            )
        budget = f" / {fmt(check.budget)}" if check.budget is not None else ""
        parts.append(
            f'<text x="{label_w + bar_w + 8}" y="{top + 14}">{fmt(p50)} · {fmt(p95)}{budget} '
            f"{_e(check.unit)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _kinds_chart(stats: TargetStats) -> str:
    if not stats.kinds:
        return '<p class="muted">No failed checks.</p>'
    items = stats.kinds.most_common()
    top = items[0][1]
    width, row_h = 560, 22
    parts = [
        f'<svg class="chart kinds" data-target="{_e(stats.target)}" width="{width}" '
        f'height="{row_h * len(items) + 4}" role="img" aria-label="Failure kinds, {_e(stats.target)}">'
    ]
    for index, (kind, count) in enumerate(items):
        y = 2 + index * row_h
        parts.append(
            f'<g data-kind="{_e(kind)}"><text x="0" y="{y + 14}">{_e(kind)}</text>'
            f'<rect x="170" y="{y + 3}" width="{320 * count / top:.1f}" height="14" fill="#8250df" '
            f'data-value="{count}"/><text x="{176 + 320 * count / top:.1f}" y="{y + 14}">{count}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(data: ReportData) -> str:
    """The whole page as one string."""
    hours = data.since.total_seconds() / 3600
    title = "Daily health report" if hours <= 24 else f"Health report, last {_period(data.since)}"
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No external loads of any kind: the page must work from an artifact, offline.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}: smokegate</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted" id="period" data-since-hours="{hours:g}">{_e(_when(data.start))} to '
        f"{_e(_when(data.generated_at))} · from {_e(data.history_name)} · goal {AVAILABILITY_GOAL} % "
        "availability (share of runs whose gate verdict was pass)</p>",
    ]
    if not data.targets:
        out.append('<p id="empty">No runs recorded in this period.</p>')
    out.append("<h2>Availability</h2>")
    out.append('<div class="cards">')
    for stats in data.targets:
        met = stats.availability is not None and stats.availability >= AVAILABILITY_GOAL
        out.append(
            f'<div class="card target" data-target="{_e(stats.target)}"><h3>{_e(stats.target)}</h3>'
            f'<div class="big {"ok" if met else "bad"}" data-metric="availability" '
            f'data-value="{(stats.availability or 0):.4f}">{fmt_pct(stats.availability)}</div>'
            f"<div>{'meets' if met else 'misses'} the {AVAILABILITY_GOAL} % goal</div>"
            f'<table><tr><td>runs</td><td class="num" data-metric="runs">{stats.runs}</td></tr>'
            f"{_row('failing runs', 'failing-runs', stats.runs - stats.passed)}"
            f"{_row('errors (failed checks)', 'errors', stats.errors)}"
            f"{_row('flaky checks (passed on retry)', 'flaky', stats.flaky)}"
            "</table></div>"
        )
    out.append("</div>")
    for stats in data.targets:
        out.append(f"<h3>{_e(stats.target)}: availability per {_e(_duration(data.bucket))}</h3>")
        out.append(_availability_chart(stats, data.bucket))

    out.append("<h2>Performance: p50 / p95 against budget</h2>")
    by_target: dict[str, list[CheckStats]] = defaultdict(list)
    for check in data.checks:
        by_target[check.target].append(check)
    for target, checks in sorted(by_target.items()):
        out.append(f"<h3>{_e(target)}</h3>")
        out.append(_latency_chart(target, checks))
        out.append(
            f'<table class="checks" data-target="{_e(target)}"><thead><tr><th>check</th><th>epic</th>'
            '<th class="num">runs</th><th class="num">failed</th>'
            '<th class="num">p50</th><th class="num">p95</th>'
            '<th class="num">budget</th><th>unit</th><th>p95 vs budget</th></tr></thead><tbody>'
        )
        for check in checks:
            verdict = (
                "–"
                if check.p95 is None or check.budget is None
                else ('<span class="bad">over</span>' if check.over_budget else '<span class="ok">within</span>')
            )
            out.append(
                f'<tr data-check="{_e(check.check)}"><td>{_e(check.check)}</td><td>{_e(check.epic)}</td>'
                f'<td class="num">{check.runs}</td><td class="num" data-metric="failed">{check.failures}</td>'
                f'<td class="num" data-metric="p50" data-value="{_raw(check.p50)}">'
                f"{fmt(check.p50)}</td>"
                f'<td class="num" data-metric="p95" data-value="{_raw(check.p95)}">'
                f"{fmt(check.p95)}</td>"
                f'<td class="num" data-metric="budget">{fmt(check.budget)}</td><td>{_e(check.unit)}</td>'
                f"<td>{verdict}</td></tr>"
            )
        out.append("</tbody></table>")

    out.append(f"<h2>Slowest checks (p95, ms)</h2>{_slowest(data.checks)}")
    out.append("<h2>Failure kinds</h2>")
    for stats in data.targets:
        out.append(f"<h3>{_e(stats.target)}</h3>{_kinds_chart(stats)}")
    out.append(_incident_section(data))
    out.append(f'<p class="muted">Generated {_e(_when(data.generated_at))} by smokegate report.</p>')
    out.append("</body></html>")
    return "\n".join(out)


def _period(since: timedelta) -> str:
    hours = since.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hours"


def _slowest(checks: Sequence[CheckStats]) -> str:
    timed = sorted((c for c in checks if c.unit == "ms" and c.p95 is not None), key=lambda c: -(c.p95 or 0.0))
    if not timed:
        return '<p class="muted">No timed checks in this period.</p>'
    rows = []
    for rank, check in enumerate(timed[:SLOWEST], start=1):
        ratio = f"{100 * (check.p95 or 0.0) / check.budget:.0f} %" if check.budget else "–"
        rows.append(
            f'<tr data-check="{_e(check.check)}" data-target="{_e(check.target)}"><td class="num">{rank}</td>'
            f"<td>{_e(check.target)}</td><td>{_e(check.check)}</td>"
            f'<td class="num" data-metric="p95">{fmt(check.p95)}</td>'
            f'<td class="num">{fmt(check.budget)}</td><td class="num">{ratio}</td></tr>'
        )
    return (
        '<table class="slowest"><thead><tr><th class="num">#</th><th>target</th><th>check</th>'
        '<th class="num">p95 ms</th><th class="num">budget ms</th><th class="num">of budget</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _incident_section(data: ReportData) -> str:
    out = [f'<h2>Incidents <span class="muted" id="incident-count">({data.incidents_total})</span></h2>']
    if not data.incidents:
        out.append('<p class="muted">No incidents in this period.</p>')
    if data.incidents_total > len(data.incidents):
        out.append(f'<p class="muted">Showing the latest {len(data.incidents)}.</p>')
    for incident in data.incidents:
        if incident.recovered is not None:
            state = (
                f"recovered {_e(_when(incident.recovered))} after "
                f"{_e(_duration(incident.recovered - incident.started))}"
            )
        else:
            state = '<span class="bad">ongoing</span>'
        checks = ", ".join(f"{_e(c)} ({_e(k)}, {n}×)" for c, k, n in incident.checks[:12]) or "none recorded"
        kinds = Counter[str]()
        for _check, kind, count in incident.checks:
            kinds[kind] += count
        kind_text = ", ".join(f"{_e(k)} ({n})" for k, n in kinds.most_common())
        messages = ", ".join(f"{_e(k)}: {n}" for k, n in sorted(incident.messages.items())) or "none"
        out.append(
            f'<div class="incident" data-incident="{_e(incident.incident_id)}" '
            f'data-target="{_e(incident.target)}">'
            f"<h3>{_e(incident.incident_id)}</h3><table>"
            f"<tr><td>target</td><td>{_e(incident.target)}</td></tr>"
            f'<tr><td>severity</td><td data-metric="severity">{_e(incident.severity.capitalize())}</td></tr>'
            f"<tr><td>detected</td><td>{_e(_when(incident.started))}</td></tr>"
            f"<tr><td>state</td><td>{state}</td></tr>"
            f'<tr><td>failing runs</td><td data-metric="runs">{incident.runs}</td></tr>'
            f"<tr><td>failure kinds</td><td>{kind_text}</td></tr>"
            f"<tr><td>failed checks</td><td>{checks}</td></tr>"
            f"<tr><td>alert messages</td><td>{messages}</td></tr></table></div>"
        )
    return "".join(out)


def build_report(history: History, *, since: timedelta, now: datetime | None = None) -> str:
    return render(collect(history, since=since, now=now))


def write_report(
    history_path: HistorySource | str,
    out: Path,
    *,
    since: timedelta,
    now: datetime | None = None,
    notice: Callable[[str], None] | None = None,
) -> Path:
    """Render the report for ``history_path`` into ``out`` and return ``out``."""
    with History.open(history_path, notice=notice) as history:
        page = build_report(history, since=since, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
