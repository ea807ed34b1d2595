"""The health report's page: what :func:`smokegate.ops.report.collect` found, laid out for reading.

Data only: every figure is formatted and every bar, chart point and sparkline is computed here,
then ``templates/health_report.html.j2`` draws it (markup, styles and SVG live in the template).
Three rules the layout keeps:

* labels never share space with bars: check names sit in their own table column, so the browser
  lays them out and a long name wraps instead of running over a chart;
* measured against budget is drawn on one log scale for every check (1/16x to 4x the budget, the
  budget at the same place on every row, a cap marker beyond 4x), so 150 % and 300 % of budget
  look different and rows compare with each other;
* a row with nothing to say (no value measured, or zero against a zero or absent budget) is left
  out of the chart, and the page says how many were.

The trend per check is the median (p50) of its measured values per hour (periods up to two days)
or per day (longer periods: the weekly review), from the history itself.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from smokegate.figures import number
from smokegate.ops.report_format import Sparkline, duration, fmt, sparkline, trend_step, when
from smokegate.templating import BUDGET_POSITION, RATIO_HIGH, RATIO_LOW, ratio_position, render

if TYPE_CHECKING:
    from smokegate.ops.history import History
    from smokegate.ops.provider_report import Extras
    from smokegate.ops.report import CheckStats, Incident, ReportData, TargetStats

SLOWEST = 10
TrendKey = tuple[str, str]


def fmt_pct(value: float | None) -> str:
    # Three decimals: 99.896 must not print as 99.90 and pass for the 99.9 % goal.
    return "–" if value is None else f"{value:.3f} %"


def period(since: timedelta) -> str:
    """``24 hours``... in words: ``7 days``, ``1 hour``, ``90 minutes``."""
    minutes = max(1, round(since.total_seconds() / 60))
    for size, unit in ((7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and minutes % size == 0 and not (unit == "week" and minutes // size == 1):
            count = int(minutes // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minutes"


def title(data: ReportData) -> str:
    """Daily only for the day it covers, weekly only for the week; any other period says what it is."""
    if data.asked is not None:
        return f"Health report, last {period(data.since)}: the whole history"
    if data.since == timedelta(hours=24):
        return "Daily health report"
    if data.since == timedelta(days=7):
        return "Weekly health report"
    return f"Health report, last {period(data.since)}"


def raw(value: float | None) -> str:
    return "" if value is None else repr(value)


def collect_trends(history: History, data: ReportData) -> dict[TrendKey, list[float | None]]:
    """Median measured value per check and trend step over the report's period (None: no value).

    A second pass over the period's check rows (``collect`` keeps no timestamps per value), in
    plain SQL any history backend runs; the bucketing is done here.
    """
    from smokegate.ops.report import percentile

    step = trend_step(data.since)
    count = max(1, math.ceil(data.since / step))
    last = count - 1
    start_ts, end_ts, seconds = data.start.timestamp(), data.generated_at.timestamp(), step.total_seconds()
    samples: dict[TrendKey, list[list[float]]] = {}
    for target, check_id, ts, measured in history.query(
        "SELECT target, check_id, ts, measured FROM checks WHERE ts >= ? AND ts <= ?"
        " AND measured IS NOT NULL AND outcome != 'skipped'",
        (start_ts, end_ts),
    ):
        buckets = samples.get((target, check_id))
        if buckets is None:
            buckets = samples[(target, check_id)] = [[] for _ in range(count)]
        index = int((ts - start_ts) // seconds)
        buckets[index if index < last else last].append(measured)
    return {
        key: [percentile(sorted(values), 0.5) if values else None for values in buckets]
        for key, buckets in samples.items()
    }


# -- the view ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    metric: str
    value: str


@dataclass(frozen=True)
class Card:
    target: str
    availability: str
    availability_value: str
    met: bool
    figures: list[Figure]
    locations: list[Figure]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str
    value: str | None  # data-value; None for an empty bucket


@dataclass(frozen=True)
class AvailabilityChart:
    target: str
    width: int
    height: int
    aria: str
    top_label_y: float
    floor_label_y: float
    floor: str
    bars: list[Rect]
    goal_y: float
    plot_left: int
    plot_right: int
    start_label: str


@dataclass(frozen=True)
class LatencyRow:
    check: str
    figures: str
    p50: float
    p95: float
    budget: float | None
    over: bool
    p50_position: float | None
    p95_position: float | None
    capped: bool
    percent: str
    trend: Sparkline | None


@dataclass(frozen=True)
class LatencySection:
    target: str
    rows: list[LatencyRow]
    omitted: list[str]


@dataclass(frozen=True)
class KindBar:
    kind: str
    count: int
    share: float  # of the most frequent kind, 0..1


@dataclass(frozen=True)
class IncidentView:
    incident_id: str
    target: str
    severity: str
    detected: str
    recovered: str | None
    runs: int
    kinds: str
    checks: str
    messages: str


@dataclass
class Page:
    title: str
    hours: float
    period_line: str
    cards: list[Card]
    availability: list[AvailabilityChart]
    bucket: str
    latency: list[LatencySection]
    trend_step: str
    tables: list[tuple[str, list[CheckStats]]]
    slowest: list[tuple[int, CheckStats, str]]
    kinds: list[tuple[str, list[KindBar]]]
    incidents: list[IncidentView]
    incidents_total: int
    generated: str
    goal: float
    scale: dict[str, Any] = field(default_factory=dict)
    # The providers' figures, maintenance windows and the watcher's gaps (smokegate.ops.provider_report).
    extras: Extras | None = None


def _card(stats: TargetStats, goal: float) -> Card:
    met = stats.availability is not None and stats.availability >= goal
    figures = [
        Figure("runs", "runs", str(stats.runs)),
        Figure("failing runs", "failing-runs", str(stats.runs - stats.passed)),
        Figure("errors (failed checks)", "errors", str(stats.errors)),
        Figure("flaky checks (passed on retry)", "flaky", str(stats.flaky)),
    ]
    # Shown when the history provides them (availability per location; runs that could not judge).
    error_runs = getattr(stats, "error_runs", 0)
    if error_runs:
        figures.append(Figure("runs that could not judge (not counted)", "error-runs", str(error_runs)))
    maintenance_runs = getattr(stats, "maintenance_runs", 0)
    if maintenance_runs:
        figures.append(Figure("runs in maintenance windows (not counted)", "maintenance-runs", str(maintenance_runs)))
    locations = [
        Figure(str(place.location), "location", fmt_pct(place.availability))
        for place in (getattr(stats, "locations", None) or {}).values()
    ]
    return Card(stats.target, fmt_pct(stats.availability), f"{(stats.availability or 0):.4f}", met, figures,
                locations if len(locations) > 1 else [])


def _availability_chart(stats: TargetStats, bucket: timedelta, goal: float) -> AvailabilityChart:
    """Bars per time bucket on a 90-100 % (or 0-100 %) scale, with the goal line."""
    width, height, pad_left, pad_bottom = 640, 140, 44, 18
    values = [b.availability for b in stats.buckets]
    known = [v for v in values if v is not None]
    floor = 90.0 if known and min(known) >= 90 else 0.0
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - 8
    step = plot_w / max(1, len(values))

    def y(value: float) -> float:
        return 8 + plot_h * (1 - (value - floor) / (100 - floor))

    bars = []
    for index, (data, value) in enumerate(zip(stats.buckets, values, strict=True)):
        x = pad_left + index * step
        if value is None:
            bars.append(Rect(x, y(100), max(1.0, step - 1), plot_h, "#eef0f4", f"{when(data.start)}: no runs", None))
            continue
        colour = "#2da44e" if value >= goal else ("#d29922" if value >= 99 else "#cf222e")
        # A bucket at the floor (0 %) is drawn 3 px tall: a red mark, not what looks like "no runs".
        top = min(y(max(value, floor)), 8 + plot_h - 3)
        bars.append(Rect(x, top, max(1.0, step - 1), 8 + plot_h - top, colour,
                         f"{when(data.start)}: {value:.3f} % of {data.runs} runs", f"{value:.3f}"))
    return AvailabilityChart(
        target=stats.target, width=width, height=height,
        aria=f"Availability of {stats.target} per {duration(bucket)} against the {goal} % goal",
        top_label_y=y(100) + 4, floor_label_y=y(floor) + 4, floor=f"{floor:.0f} %", bars=bars, goal_y=y(goal),
        plot_left=pad_left, plot_right=width - 8, start_label=when(stats.buckets[0].start),
    )


def has_something_to_say(check: CheckStats) -> bool:
    """A chart row says something when a value was measured and is not zero against no budget."""
    if check.p50 is None or check.p95 is None:
        return False
    return not (check.p95 == 0 and not check.budget)


def _latency(target: str, checks: Sequence[CheckStats], trends: Mapping[TrendKey, list[float | None]],
             step: timedelta) -> LatencySection:
    rows, omitted = [], []
    for check in checks:
        if not has_something_to_say(check):
            omitted.append(check.check)
            continue
        p50, p95 = check.p50 or 0.0, check.p95 or 0.0
        budget = check.budget or None
        p50_position = p95_position = None
        capped, percent = False, ""
        if budget:
            p50_position = ratio_position(p50 / budget)[0]
            p95_position, capped = ratio_position(p95 / budget)
            capped = capped and p95_position >= 1
            percent = f"p95 {100 * p95 / budget:.0f} % of budget"
        # One unit for the three figures: "45 · 120 / 500 ms", rounded as every report rounds them.
        budget_text = f" / {number(budget, check.unit)}" if budget else ""
        rows.append(LatencyRow(
            check=check.check,
            figures=f"{number(p50, check.unit)} · {number(p95, check.unit)}{budget_text} {check.unit}".strip(),
            p50=p50, p95=p95, budget=budget, over=check.over_budget,
            p50_position=p50_position, p95_position=p95_position, capped=capped, percent=percent,
            trend=sparkline(trends.get((check.target, check.check), []), check.unit, step),
        ))
    return LatencySection(target, rows, omitted)


def _kinds(stats: TargetStats) -> list[KindBar]:
    items = stats.kinds.most_common()
    top = items[0][1] if items else 1
    return [KindBar(kind, count, count / top) for kind, count in items]


def _incident(incident: Incident) -> IncidentView:
    kinds = Counter[str]()
    for _check, kind, count in incident.checks:
        kinds[kind] += count
    recovered = None
    if incident.recovered is not None:
        recovered = (f"recovered {when(incident.recovered)} after "
                     f"{duration(incident.recovered - incident.started)}")
    return IncidentView(
        incident_id=incident.incident_id,
        target=incident.target,
        severity=incident.severity.capitalize(),
        detected=when(incident.started),
        recovered=recovered,
        runs=incident.runs,
        kinds=", ".join(f"{k} ({n})" for k, n in kinds.most_common()),
        checks=", ".join(f"{c} ({k}, {n}×)" for c, k, n in incident.checks[:12]) or "none recorded",
        messages=", ".join(f"{k}: {n}" for k, n in sorted(incident.messages.items())) or "none",
    )


def page(data: ReportData, trends: Mapping[TrendKey, list[float | None]] | None = None,
         extras: Extras | None = None) -> Page:
    """Everything the template draws, from the report's figures (and the per-check trends, if any)."""
    from smokegate.ops.report import AVAILABILITY_GOAL

    trends = trends or {}
    hours = data.since.total_seconds() / 3600
    step = trend_step(data.since)
    by_target: dict[str, list[CheckStats]] = defaultdict(list)
    for check in data.checks:
        by_target[check.target].append(check)
    timed = sorted((c for c in data.checks if c.unit == "ms" and c.p95 is not None), key=lambda c: -(c.p95 or 0.0))
    slowest = [
        (rank, check, f"{100 * (check.p95 or 0.0) / check.budget:.0f} %" if check.budget else "–")
        for rank, check in enumerate(timed[:SLOWEST], start=1)
    ]
    cut = (f" (asked for the last {period(data.asked)}; the history begins there)"
           if data.asked is not None else "")
    return Page(
        title=title(data),
        hours=hours,
        period_line=(f"{when(data.start)} to {when(data.generated_at)}{cut} · from {data.history_name} · goal "
                     f"{AVAILABILITY_GOAL} % availability (share of runs whose gate verdict was pass)"),
        cards=[_card(stats, AVAILABILITY_GOAL) for stats in data.targets],
        availability=[_availability_chart(stats, data.bucket, AVAILABILITY_GOAL) for stats in data.targets],
        bucket=duration(data.bucket),
        latency=[_latency(target, checks, trends, step) for target, checks in sorted(by_target.items())],
        trend_step="hour" if step <= timedelta(hours=1) else "day",
        tables=sorted(by_target.items()),
        slowest=slowest,
        kinds=[(stats.target, _kinds(stats)) for stats in data.targets],
        incidents=[_incident(incident) for incident in data.incidents],
        incidents_total=data.incidents_total,
        generated=when(data.generated_at),
        goal=AVAILABILITY_GOAL,
        scale={"low": f"1/{round(1 / RATIO_LOW)}×", "high": f"{RATIO_HIGH:g}×", "budget": BUDGET_POSITION},
        extras=extras,
    )


def render_page(data: ReportData, trends: Mapping[TrendKey, list[float | None]] | None = None,
                extras: Extras | None = None) -> str:
    """The whole self-contained page as one string."""
    from smokegate.ops.provider_report import by_key

    built = page(data, trends, extras)
    return render("health_report.html.j2", page=built, fmt=fmt, raw=raw,
                  provider_tables=by_key(extras) if extras is not None else {})
