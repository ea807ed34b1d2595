"""The load report: what the run sent and got, per second and per route, and where it broke.

A self-contained page (inline styles and SVG, no script, a CSP that forbids every external load),
like the daily health report, written to ``reports/load/report.html`` beside Locust's own HTML report
and CSV files, which it links.  Data only here: every figure is formatted and every chart point is
computed in Python; ``templates/load_report.html.j2`` draws it.

* The verdict lines: each threshold at the peak as the checks judge it (the same functions), with
  the step and route where it broke.
* The steps: planned rate and users beside what was sent, p50/p95 and errors per step, overall and
  per route, cells over budget marked.
* Per route, over the whole run: requests per second, p50 and p95 (each second with the two around
  it, so a few requests a second still make a percentile) against the budget line, and errors per
  second; the steps are bands, the hold is shaded, the step where it broke is a red line.
* The generator: each process's CPU and event-loop lag per second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from smokegate.checks import load_verdict as verdict
from smokegate.checks.load_timeline import Step, Window, step_window, window
from smokegate.checks.load_verdict import Analysis, Judgment
from smokegate.load.plan import MIN_SAMPLES, Plan
from smokegate.scrub import SCRUBBER
from smokegate.templating import render

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.load.engine import Distribution, RunOutput

WIDTH, PANEL_H, LEFT, RIGHT = 760, 70, 48, 10


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.1f}"
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class Verdict:
    check: str
    state: str  # pass, fail, undetermined
    text: str


@dataclass(frozen=True)
class Cell:
    text: str
    bad: bool = False
    title: str = ""


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    label: str
    hold: bool


@dataclass(frozen=True)
class Line:
    points: str
    css: str
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    top: float  # y of the panel's top
    height: float
    max_label: str
    lines: list[Line]
    bars: list[tuple[float, float, float, str]] = field(default_factory=list)  # x, y, height, title
    budget_y: float | None = None
    budget_label: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    route: str
    width: int
    height: int
    bands: list[Band]
    panels: list[Panel]
    broke_x: float | None
    broke_label: str
    end_label: str


@dataclass
class Page:
    title: str
    target: str
    base_url: str
    generated: str
    shape: str
    distribution: str
    sent: str
    generator: str
    signed_in: str | None
    verdicts: list[Verdict]
    step_header: list[str]
    step_rows: list[list[Cell]]
    route_header: list[str]
    route_rows: list[list[Cell]]
    charts: list[Chart]
    generator_chart: Chart | None
    errors: list[tuple[str, list[tuple[str, int]]]]
    links: list[tuple[str, str]]


def _state(judgment: Judgment) -> str:
    if judgment.undetermined:
        return "undetermined"
    return "pass" if judgment.passed else "fail"


def _verdicts(analysis: Analysis, plan: Plan, target: Target, skipped: str | None) -> list[Verdict]:
    found = []
    for route in plan.routes:
        if route.weight <= 0:
            if route.signed_in and skipped:
                found.append(Verdict(f"p95 {route.label}", "skipped", skipped))
            continue
        j = verdict.judge_p95(analysis, route.id, route.budget_ms, MIN_SAMPLES)
        found.append(Verdict(f"p95 {route.label}", _state(j), j.undetermined or j.message))
    j = verdict.judge_errors(analysis, target.budgets.error_rate)
    found.append(Verdict("error ratio", _state(j), j.undetermined or j.message))
    j = verdict.judge_burst(analysis, target.load.burst_ratio, target.load.burst_window_s)
    found.append(Verdict("no 5xx burst", _state(j), j.undetermined or j.message))
    return found


def _step_cells(w: Window, budget_ms: float | None, error_budget: float) -> list[Cell]:
    p95 = w.p(95)
    return [
        Cell(f"{w.rps:.1f}"),
        Cell(fmt(w.p(50), "ms")),
        Cell(fmt(p95, "ms"), bad=budget_ms is not None and p95 is not None and p95 > budget_ms),
        Cell(f"{w.error_ratio:.1%}" if w.requests else "–", bad=w.requests > 0 and w.error_ratio >= error_budget,
             title=", ".join(f"{k} {n}" for k, n in w.errors.items())),
        Cell(str(w.server_errors)),
    ]


def _x(second: float, duration: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * min(max(second / duration, 0.0), 1.0)


def _bands(steps: Sequence[Step], duration: float) -> list[Band]:
    found = []
    for s in steps:
        width = max(0.5, _x(s.end_s, duration) - _x(s.start_s, duration))
        # A label only where it fits: a short last step's would run into the time at the right edge.
        label = f"{s.multiple:g}x" if width >= 24 else ""
        found.append(Band(_x(s.start_s, duration), width, label, s.phase == "hold"))
    return found


def _points(values: Sequence[tuple[int, float | None]], duration: float, top: float, height: float,
            high: float) -> str:
    out = []
    for second, value in values:
        if value is None:
            continue
        y = top + height * (1 - min(value, high) / high) if high else top + height
        out.append(f"{_x(second + 0.5, duration):.1f},{y:.1f}")
    return " ".join(out)


def _chart(analysis: Analysis, route: str | None, title: str, budget_ms: float | None, duration: float,
           seconds: int, broke: Step | None) -> Chart:
    timeline = analysis.timeline
    per_second = [window(timeline, t, t + 1, route) for t in range(seconds)]
    smoothed = [window(timeline, max(0, t - 1), t + 2, route) for t in range(seconds)]
    rps = [(t, float(w.requests)) for t, w in enumerate(per_second)]
    p50 = [(t, w.p(50)) for t, w in enumerate(smoothed)]
    p95 = [(t, w.p(95)) for t, w in enumerate(smoothed)]
    errors = [(t, float(w.failed)) for t, w in enumerate(per_second)]
    top_rps = max([v for _, v in rps] + [1.0])
    known = [v for _, v in p95 if v is not None]
    top_ms = max([*known, budget_ms or 0.0, 1.0])
    top_ms = min(top_ms, 4 * budget_ms) if budget_ms else top_ms
    top_err = max([v for _, v in errors] + [1.0])
    gap = 16
    y1, y2, y3 = 14.0, 14.0 + PANEL_H + gap, 14.0 + 2 * (PANEL_H + gap)
    latency = Panel(
        "p50 / p95 (ms, each second with its neighbours)", y2, PANEL_H, fmt(top_ms, "ms"),
        [Line(_points(p50, duration, y2, PANEL_H, top_ms), "p50", "p50"),
         Line(_points(p95, duration, y2, PANEL_H, top_ms), "p95", "p95")],
        budget_y=(y2 + PANEL_H * (1 - budget_ms / top_ms)) if budget_ms else None,
        budget_label=f"budget {fmt(budget_ms, 'ms')}" if budget_ms else "")
    bars = [(_x(t, duration), y3 + PANEL_H * (1 - v / top_err), PANEL_H * v / top_err, f"{t} s: {v:.0f} failed")
            for t, v in errors if v]
    panels = [
        Panel("requests sent per second", y1, PANEL_H, fmt(top_rps), [Line(_points(rps, duration, y1, PANEL_H, top_rps),
                                                                           "rps", "requests/s")]),
        latency,
        Panel("failed requests per second", y3, PANEL_H, fmt(top_err), [], bars=[(x, y, h, t) for x, y, h, t in bars]),
    ]
    return Chart(title, route or "all", WIDTH, int(y3 + PANEL_H + 22), _bands(analysis.steps, duration), panels,
                 _x(broke.start_s, duration) if broke else None, f"broke at {broke.label()}" if broke else "",
                 f"0–{duration:.0f} s")


def _generator_chart(analysis: Analysis, duration: float) -> Chart | None:
    samples = analysis.timeline.generator
    if not samples:
        return None
    processes = sorted({s.process for s in samples})
    top_lag = max([s.lag_ms for s in samples] + [1.0])
    gap = 16
    y1, y2 = 14.0, 14.0 + PANEL_H + gap
    cpu_lines, lag_lines = [], []
    for index, process in enumerate(processes):
        mine = sorted((s for s in samples if s.process == process), key=lambda s: s.t)
        css = f"proc{index % 6}"
        cpu_lines.append(Line(_points([(s.t, s.cpu) for s in mine], duration, y1, PANEL_H, 100.0), css, process))
        lag_lines.append(Line(_points([(s.t, s.lag_ms) for s in mine], duration, y2, PANEL_H, top_lag), css, process))
    return Chart("the load generator", "generator", WIDTH, int(y2 + PANEL_H + 22), _bands(analysis.steps, duration),
                 [Panel("CPU, % of one core, per process", y1, PANEL_H, "100 %", cpu_lines),
                  Panel("event-loop lag (ms): the worst of ten 100 ms naps each second", y2, PANEL_H,
                        fmt(top_lag, "ms"), lag_lines)], None, "", f"0–{duration:.0f} s")


def page(*, target: Target, plan: Plan, output: RunOutput, analysis: Analysis, distribution: Distribution,
         signed_in_skipped: str | None, out_dir: Path) -> Page:
    steps = [s for s in analysis.steps]
    duration = max(steps[-1].end_s, 1.0)
    seconds = int(duration) + 1
    error_budget = target.budgets.error_rate
    load_cfg = target.load
    routes = [r for r in plan.routes if r.weight > 0]
    step_rows = []
    for step in steps:
        w = step_window(analysis.timeline, step, analysis.settle_s)
        step_rows.append([Cell(step.phase), Cell(f"{step.multiple:g}x"), Cell(f"{step.rps:g}"), Cell(str(step.users)),
                          Cell(f"{step.start_s:.1f}–{step.end_s:.1f} s"), *_step_cells(w, None, error_budget)])
    route_rows = []
    for route in routes:
        cells = [Cell(route.label), Cell(fmt(route.budget_ms, "ms"))]
        for step in steps:
            w = step_window(analysis.timeline, step, analysis.settle_s, route.id)
            p95 = w.p(95)
            bad = p95 is not None and p95 > route.budget_ms
            text = f"{fmt(p95)} · {w.error_ratio:.0%}" if w.requests else "–"
            cells.append(Cell(text, bad or (w.requests > 0 and w.error_ratio >= error_budget),
                              f"{w.requests} requests, p50 {fmt(w.p(50), 'ms')}, {w.failed} failed"))
        route_rows.append(cells)
    verdicts = _verdicts(analysis, plan, target, signed_in_skipped)
    charts = [_chart(analysis, None, "all routes", None, duration, seconds, None)]
    for route in routes:
        j = verdict.judge_p95(analysis, route.id, route.budget_ms, MIN_SAMPLES)
        broke = None
        if not j.passed and "broke_at" in j.details:
            broke = Step.from_dict(j.details["broke_at"])
        charts.append(_chart(analysis, route.id, route.label, route.budget_ms, duration, seconds, broke))
    hold = analysis.hold_window
    gen = analysis.generator
    messages = [(plan_label, Counter(counts).most_common(5)) for plan_label, counts in
                sorted(((next((r.label for r in plan.routes if r.id == k), k), v)
                        for k, v in analysis.timeline.messages.items()))]
    links = [(label, name) for label, name in (("Locust's HTML report", "locust.html"),
                                               ("Locust statistics (CSV)", "locust_stats.csv"),
                                               ("Locust statistics per second (CSV)", "locust_stats_history.csv"),
                                               ("Locust failures (CSV)", "locust_failures.csv"),
                                               ("Locust log", "locust.log"),
                                               ("the timeline the gate read (JSON)", "timeline.json"))
             if (out_dir / name).exists()]
    hold_step = analysis.hold
    return Page(
        title=f"Load report: {target.name}",
        target=target.name, base_url=target.base_url,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        shape=(f"baseline {load_cfg.baseline_rps:g} rps; {load_cfg.steps} ramp step(s) over {load_cfg.ramp_s:g} s "
               f"up to {load_cfg.multiplier:g}x ({load_cfg.peak_rps:g} rps); hold {load_cfg.hold_s:g} s; "
               f"{load_cfg.ramp_down_s:g} s back at 1x; {load_cfg.user_rps:g} request(s)/s per user; the first "
               f"{load_cfg.settle_s:g} s of each step are left out of its figures"),
        distribution=(f"{distribution.describe()} (Locust {output.mode} runner; reporting: "
                      f"{', '.join(output.processes) or 'none'}); wall {output.wall_s:.0f} s"),
        sent=(f"{hold.rps:.1f} rps sent over {hold.seconds} s of the hold (planned {hold_step.rps:g}); "
              f"{hold.requests} requests, {hold.failed} failed"),
        generator=(f"CPU up to {gen.cpu_max:.0f} % of a core, event-loop lag p95 {gen.lag_ms:.0f} ms over the hold, "
                   f"{gen.processes} process(es)" + (f"; {gen.saturated}" if gen.saturated else ": kept up")),
        signed_in=signed_in_skipped,
        verdicts=verdicts,
        step_header=["phase", "multiple", "planned rps", "users", "span", "sent rps", "p50", "p95", "errors", "5xx"],
        step_rows=step_rows,
        route_header=["route", "budget", *[f"{s.multiple:g}x{' hold' if s.phase == 'hold' else ''}" for s in steps]],
        route_rows=route_rows,
        charts=charts,
        generator_chart=_generator_chart(analysis, duration),
        errors=messages,
        links=links,
    )


def write(path: Path, *, target: Target, plan: Plan, output: RunOutput, analysis: Analysis,
          distribution: Distribution, signed_in_skipped: str | None) -> Path:
    """Render the report to ``path`` (scrubbed of secrets like every report)."""
    view = page(target=target, plan=plan, output=output, analysis=analysis, distribution=distribution,
                signed_in_skipped=signed_in_skipped, out_dir=path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCRUBBER.text(render("load_report.html.j2", page=view)), encoding="utf-8")
    return path
