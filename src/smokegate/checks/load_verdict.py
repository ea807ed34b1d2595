"""What a load run's timeline says about each threshold at the peak, and when it says nothing.

Pure logic (no Locust, no pytest, no network), over :mod:`smokegate.checks.load_timeline`'s timeline:

* :class:`Analysis` and :func:`judge_p95`, :func:`judge_errors`, :func:`judge_burst`: each threshold at
  the peak, with the step of the ramp where it first failed and never recovered (where it broke);
* :func:`generator_load` and :func:`lost_before_load`: when a figure proves nothing about the target.
  A slow generator only adds to measured times and sends less than planned: the requests a process
  sent in a second it stalled are left out of the times judged; a pass is trusted when the peak rate
  was sent (or the target's own slowness held the users back), a time over budget when the generator
  did not saturate and the time exceeds the budget by more than its remaining lag, an error ratio on
  the target's own answers; otherwise the check could not be determined ("the load generator
  saturated").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smokegate.checks.load_timeline import (
    CATEGORIES,
    MIN_STEP_SAMPLES,
    WRONG_STATUS,
    GeneratorSample,
    RouteTick,
    Stall,
    Step,
    Timeline,
    Window,
    hold_of,
    percentile,
    seconds_of,
    step_window,
    window,
)
from smokegate.failures import FailureKind

# A burst window with fewer answers than this is not judged (two 503s of three are no burst).
MIN_BURST_ANSWERS = 10

# -- the generator ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratorLoad:
    """How the generator's processes fared over a span: the seconds each of them stalled, and whether it kept up."""

    # Why the generator, not the target, set the pace (None when it kept up).
    saturated: str | None
    # The seconds in which a process ran at its CPU limit or its event loop ran late: the requests that
    # process sent then may carry its own waiting, and are left out of the times judged.
    stalled: frozenset[Stall]
    # The share of the span's requests sent in a stalled second of their process.
    stalled_share: float
    # The p95 of the processes' per-second worst loop lag over their other seconds: what the generator may
    # still have added to a time it measured.
    lag_ms: float
    cpu_max: float
    processes: int

    def as_dict(self) -> dict[str, Any]:
        return {"saturated": self.saturated, "stalled": [f"{p}@{t}" for p, t in sorted(self.stalled)],
                "stalled_share": round(self.stalled_share, 3), "lag_ms": self.lag_ms, "cpu_max": self.cpu_max,
                "processes": self.processes}


def _in_flight(t: int, routes: Mapping[str, RouteTick] | None, u: int) -> bool:
    """Whether a request started in second ``t`` may still have been waiting for its answer in second ``u``.

    Started within ``[t, t + 1)`` and answered after ``d`` ms, it was in flight until ``t + 1 + d`` at the
    latest: a stall of its process then may be in its time (the answer read only once the process ran
    again). Seen: a worker stalled 3.2 s just after the hold ended, and the requests it had sent in the
    hold's last seconds came back at 3.6-4.6 s, while its seconds within the hold were clean."""
    longest = max((ms for tick in (routes or {}).values() for ms in tick.hist), default=0)
    return t <= u < t + 1 + longest / 1000


def generator_load(timeline: Timeline, start: int, end: int, max_cpu: float, max_lag_ms: float) -> GeneratorLoad:
    """The generator over ``[start, end)``.

    A process stalled in a second when it ran at ``max_cpu`` % of a core or above, or its event loop was
    ``max_lag_ms`` late. Its requests of the span that were in flight in such a second (sent in it, or
    earlier and still unanswered, the span's end notwithstanding) may carry its own waiting: theirs are
    the stalled ticks. The generator saturated when half the span's requests or more are in those: too few
    are left to judge the target's times on, and what it sent is what it could, not what was planned. (A
    run without per-process figures counts whole seconds.)
    """
    # From the span's start on, past its end: a stall after it still holds up the answers of requests sent in it.
    by_process: dict[str, list[GeneratorSample]] = {}
    for sample in timeline.generator:
        if start <= sample.t:
            by_process.setdefault(sample.process, []).append(sample)
    stalled: set[Stall] = set()
    found = []
    for process, samples in sorted(by_process.items()):
        ticks = timeline.by_process.get(process, {}) if timeline.by_process else timeline.ticks
        stalls = [s for s in samples if s.cpu >= max_cpu or s.lag_ms >= max_lag_ms]
        tainted = {t for t in range(start, end) if any(_in_flight(t, ticks.get(t), s.t) for s in stalls)}
        stalled |= {(process, t) for t in tainted}
        # What a reader is told of: the stalls within the span, and those after it that held up its requests.
        told = [s for s in stalls if s.t < end or any(_in_flight(t, ticks.get(t), s.t) for t in tainted)]
        busy = [s for s in told if s.cpu >= max_cpu]
        late = [s for s in told if s.lag_ms >= max_lag_ms]
        in_span = sum(1 for s in samples if s.t < end)
        if busy:
            found.append(f"{process} at {max(s.cpu for s in busy):.0f} % CPU in {len(busy)} of {in_span} s")
        if late:
            found.append(f"{process}'s event loop up to {max(s.lag_ms for s in late):.0f} ms late in {len(late)} of "
                         f"{in_span} s")
    total = window(timeline, start, end).requests
    if timeline.by_process:
        tainted_requests = total - window(timeline, start, end, exclude=frozenset(stalled)).requests
        share = tainted_requests / total if total else 0.0
    else:  # nothing to leave out by process: whole seconds
        share = len({t for _, t in stalled}) / max(1, end - start)
    saturated = None
    if found and share >= 0.5:
        saturated = (f"the load generator saturated: {share:.0%} of the hold's requests were sent by a process that "
                     f"stalled ({'; '.join(found)}; limits {max_cpu:g} % CPU, {max_lag_ms:g} ms of loop lag)")
    clean = Counter(round(s.lag_ms) for process, samples in by_process.items() for s in samples
                    if s.t < end and s.cpu < max_cpu and s.lag_ms < max_lag_ms)
    return GeneratorLoad(saturated, frozenset(stalled), share, percentile(clean, 95) or 0.0,
                         max((s.cpu for samples in by_process.values() for s in samples if s.t < end), default=0.0),
                         len(by_process))


# -- judging ------------------------------------------------------------------------------------------

# A hold that sent less than this share of its planned rate did not test the peak.
RATE_SHARE = 0.9
MORE_GENERATORS = "run more generator processes (--load-processes N) or workers (--load-workers N)"


@dataclass(frozen=True)
class Judgment:
    """One threshold at the peak: the figure beside its budget, and the check's own words.

    ``undetermined`` says why the figure proves nothing about the target (the generator, or the path
    before any load): the check is then inconclusive, whatever ``passed`` says.
    """

    passed: bool
    measured: float | None
    budget: float
    unit: str
    message: str
    undetermined: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    """A run's timeline read against its steps, once, for every check."""

    timeline: Timeline
    steps: tuple[Step, ...]
    settle_s: float
    hold: Step
    hold_window: Window
    generator: GeneratorLoad
    lost: str | None
    labels: Mapping[str, str]

    @classmethod
    def of(cls, timeline: Timeline, steps: Sequence[Step], *, settle_s: float, max_cpu: float, max_lag_ms: float,
           error_budget: float, labels: Mapping[str, str]) -> Analysis:
        hold = hold_of(steps)
        start, end = seconds_of(hold.start_s, hold.end_s, settle_s)
        return cls(timeline, tuple(steps), settle_s, hold, window(timeline, start, end),
                   generator_load(timeline, start, end, max_cpu, max_lag_ms),
                   lost_before_load(timeline, steps, settle_s, error_budget), labels)

    def route(self, route: str) -> Window:
        return step_window(self.timeline, self.hold, self.settle_s, route)

    @property
    def undetermined_kind(self) -> FailureKind:
        """Whose doing an undetermined judgment is: the path's when requests were lost before any load (every
        judgment gives that reason first), else the measurement's (the generator fell behind, too few answers)."""
        return FailureKind.NETWORK if self.lost else FailureKind.INSUFFICIENT_EVIDENCE

    def timed(self, route: str) -> Window:
        """The route's requests of the hold sent while no generator process stalled: the times judged."""
        w = self.hold_window
        return window(self.timeline, w.start, w.end, route, exclude=self.generator.stalled)

    def at_peak(self, w: Window) -> str:
        text = (f"at {self.hold.label()}: {w.requests} requests in {w.seconds} s of the hold, "
                f"{self.hold_window.rps:.0f} rps sent in all")
        share = self.generator.stalled_share
        if share and not self.generator.saturated:
            text += f"; {share:.0%} of them, sent while their generator process stalled, left out of the times"
        return text

    def shortfall(self) -> str | None:
        """Why a passing figure proves nothing: the generator could not send the peak.

        Users wait for each answer, so a slow target gets fewer requests than planned: that shortfall is the
        target's own, not the generator's (each user sends at most one request per mean response time).
        """
        sent, planned, gen = self.hold_window.rps, self.hold.rps, self.generator
        if gen.saturated is None or sent >= RATE_SHARE * planned:
            return None
        mean = self.hold_window.mean_ms()
        allowed = planned if not mean else min(planned, self.hold.users * 1000 / mean)
        if sent >= RATE_SHARE * allowed:
            return None
        return (f"{gen.saturated}: it sent {sent:.0f} rps of the {planned:g} planned at {self.hold.multiple:g}x; "
                f"{MORE_GENERATORS}")

    def lag_explains(self, measured: float, budget: float) -> str | None:
        """Why a figure over budget may be the generator's doing: its own lag covers the excess."""
        lag = self.generator.lag_ms
        if measured - lag > budget:
            return None
        return (f"the load generator's own event loop lagged: {measured:.0f} ms is over the {budget:.0f} ms budget by "
                f"no more than its lag of up to {lag:.0f} ms (p95 over the hold); {MORE_GENERATORS}")

    def broke_for(self, route: str | None, failed: Callable[[Window], bool | None]) -> Step | None:
        def judged(step: Step) -> bool | None:
            return failed(step_window(self.timeline, step, self.settle_s, route))

        return broke_at(self.steps, judged)

    def first_route_break(self, failed: Callable[[Window], bool | None],
                          worst: Callable[[Window], float]) -> tuple[Step, str] | None:
        """The earliest step at which any route broke for good, and of those routes the worst there."""
        found = []
        for route in self.timeline.routes:
            step = self.broke_for(route, failed)
            if step is not None:
                found.append((step.index, -worst(step_window(self.timeline, step, self.settle_s, route)), route, step))
        if not found:
            return None
        _, _, route, step = min(found, key=lambda f: (f[0], f[1], f[2]))
        return step, route


    def where_broke(self, step: Step | None, route: str | None, failed: Callable[[Window], bool | None],
                    describe: Callable[[Window], str], *, name_route: bool = True, verb: str = "it broke") -> str:
        """Where a threshold broke for good: a step of the ramp, or only the peak (then the last step that held)."""
        if step is None:
            return ""
        on = f" on {self.labels.get(route, route)}" if route and name_route else ""
        if step.phase == "ramp":
            sw = step_window(self.timeline, step, self.settle_s, route)
            return f"; {verb} at step {step.label()}{on}: {describe(sw)} there"
        earlier = [s for s in self.steps if s.phase == "ramp" and s.index < step.index]
        held = next((s for s in reversed(earlier)
                     if failed(step_window(self.timeline, s, self.settle_s, route)) is False), None)
        if held is None:
            return f"; {verb} at the peak{on} (the steps before had too few requests to judge)"
        sw = step_window(self.timeline, held, self.settle_s, route)
        return f"; {verb} only at the peak{on}: the last step judged, {held.label()}, held with {describe(sw)}"


def broke_at(steps: Sequence[Step], judged: Callable[[Step], bool | None]) -> Step | None:
    """The first step from which ``judged`` failed at every later step up to and including the hold.

    ``judged`` returns True (failed), False (held) or None (too few answers to say): steps it cannot
    judge neither break nor mend the run of failures.
    """
    found: Step | None = None
    for step in steps:
        if step.phase == "down":
            break
        verdict = judged(step)
        if verdict is None:
            continue
        if verdict and found is None:
            found = step
        elif not verdict:
            found = None
    return found


def _undetermined(analysis: Analysis, passed: bool, own: str | None = None) -> str | None:
    return analysis.lost or own or (analysis.shortfall() if passed else None)


def judge_p95(analysis: Analysis, route: str, budget_ms: float, min_samples: int) -> Judgment:
    """The route's p95 over the hold within its budget, and the step where it went over for good.

    Judged on the requests sent while the generator kept up; when it saturated, a p95 over budget says
    nothing of the target, one within budget still holds (a slow generator only adds to times) if the
    peak was sent.
    """
    label = analysis.labels.get(route, route)
    gen = analysis.generator
    w = analysis.route(route) if gen.saturated else analysis.timed(route)
    p95, p50 = w.p(95), w.p(50)
    details: dict[str, Any] = {"p50_ms": p50, "requests": w.requests, "errors": w.failed, "route_rps": round(w.rps, 1),
                               "generator": gen.as_dict()}
    if p95 is None or w.requests < min_samples:
        kept_up = " while the generator kept up" if gen.stalled and not gen.saturated else ""
        why = (f"{label}: only {w.requests} requests in the hold{kept_up}"
               f", fewer than the {min_samples} a p95 needs{'; ' + gen.saturated if gen.saturated else ''}")
        return Judgment(False, p95, budget_ms, "ms", why, analysis.lost or why, details)
    assert p50 is not None
    figures = f"{label} p95 {p95:.0f} ms (p50 {p50:.0f})"
    if p95 <= budget_ms:
        return Judgment(True, p95, budget_ms, "ms", f"{figures} <= budget {budget_ms:.0f} ms {analysis.at_peak(w)}",
                        _undetermined(analysis, True), details)

    def over(sw: Window) -> bool | None:
        value = sw.p(95)
        return None if value is None or sw.requests < MIN_STEP_SAMPLES else value > budget_ms

    step = analysis.broke_for(route, over)
    where = analysis.where_broke(step, route, over, lambda sw: f"p95 {sw.p(95):.0f} ms of {sw.requests} requests",
                                 name_route=False)
    if step is not None:
        details["broke_at"], details["broke_route"] = step.as_dict(), route
    own = (f"{gen.saturated}: its times are its own queueing as much as the target's; {MORE_GENERATORS}"
           if gen.saturated else analysis.lag_explains(p95, budget_ms))
    return Judgment(False, p95, budget_ms, "ms", f"{figures} > budget {budget_ms:.0f} ms {analysis.at_peak(w)}{where}",
                    _undetermined(analysis, False, own), details)


def describe_errors(w: Window, messages: Mapping[str, int] | None = None) -> str:
    parts = [f"{name} {w.errors[name]}" for name in CATEGORIES if w.errors[name]]
    text = f"{w.failed} of {w.requests} requests failed" + (f" ({', '.join(parts)})" if parts else "")
    if messages:
        top = Counter(messages).most_common(3)
        text += ": " + ", ".join(f"{msg} x{n}" for msg, n in top)
    return text


def judge_errors(analysis: Analysis, budget: float, excused: Mapping[str, str] | None = None) -> Judgment:
    """The error ratio of every request of the hold under budget, and the route and step where it broke.

    ``excused`` names routes whose refusals (another status than theirs) are the test's own doing, with
    why (the synthetic user's session could not be refreshed): those requests are left out, and said.
    """
    w = analysis.hold_window
    messages: Counter[str] = Counter()
    for counts in analysis.timeline.messages.values():
        messages.update(counts)
    left_out = {route: analysis.route(route).errors[WRONG_STATUS] for route in excused or {}}
    if any(left_out.values()):
        errors = w.errors.copy()
        errors[WRONG_STATUS] -= sum(left_out.values())
        w = Window(w.start, w.end, w.requests - sum(left_out.values()), +errors, w.hist)
    details: dict[str, Any] = {"requests": w.requests, "failed": w.failed, "by_category": dict(w.errors),
                               "rps": round(w.rps, 1), "generator": analysis.generator.as_dict()}
    ratio = w.error_ratio
    note = ""
    if any(left_out.values()):
        reason = next(iter((excused or {}).values()))
        note = f"; {sum(left_out.values())} refused requests of the synthetic user's routes not counted: {reason}"
        details["not_counted"] = left_out
    if ratio < budget:
        return Judgment(True, ratio * 100, budget * 100, "%",
                        f"error ratio {ratio:.2%} < budget {budget:.0%} {analysis.at_peak(w)}: {describe_errors(w)}"
                        f"{note}", _undetermined(analysis, True), details)

    def failed(sw: Window) -> bool | None:
        return None if sw.requests < MIN_STEP_SAMPLES else sw.error_ratio >= budget

    found = analysis.first_route_break(failed, lambda sw: sw.error_ratio)
    where = ""
    if found is not None:
        step, route = found
        where = analysis.where_broke(step, route, failed,
                                     lambda sw: f"{sw.error_ratio:.1%} of {sw.requests} requests failed")
        details["broke_at"], details["broke_route"] = step.as_dict(), route
    # Answers the target gave are its own; requests without an answer may be the generator's doing.
    own = None
    answered_wrong = w.failed - w.no_answer
    if analysis.generator.saturated and answered_wrong / w.requests < budget:
        own = (f"{analysis.generator.saturated}: {w.no_answer} of the {w.failed} failed requests got no answer, "
               f"which a stalled generator can cause; {MORE_GENERATORS}")
    return Judgment(False, ratio * 100, budget * 100, "%",
                    f"error ratio {ratio:.2%} >= budget {budget:.0%} {analysis.at_peak(w)}: "
                    f"{describe_errors(w, messages)}{where}{note}", _undetermined(analysis, False, own), details)


def worst_burst(timeline: Timeline, start: int, end: int, width: int) -> Window | None:
    """The window of ``width`` seconds within ``[start, end)`` with the highest share of 5xx answers."""
    worst: Window | None = None
    for first in range(start, max(start, end - width) + 1):
        w = window(timeline, first, min(end, first + width))
        if w.answered < MIN_BURST_ANSWERS:
            continue
        if worst is None or w.server_error_ratio > worst.server_error_ratio:
            worst = w
    return worst


def judge_burst(analysis: Analysis, ratio: float, window_s: float) -> Judgment:
    """No ``window_s`` window of the hold with more than ``ratio`` of its answers 5xx (answers are the target's
    own: a slow generator cannot make them 5xx)."""
    hold = analysis.hold
    start, end = analysis.hold_window.start, analysis.hold_window.end
    width = max(1, min(end - start, round(window_s)))
    worst = worst_burst(analysis.timeline, start, end, width)
    if worst is None:
        why = (f"only {analysis.hold_window.answered} answers in the hold: too few to look for a 5xx burst (windows "
               f"of {width} s need {MIN_BURST_ANSWERS})")
        return Judgment(False, None, ratio * 100, "%", why, analysis.lost or why)
    share = worst.server_error_ratio
    details: dict[str, Any] = {"window_start_s": worst.start, "window_s": width, "answered": worst.answered,
                               "server_errors": worst.server_errors}
    if share <= ratio:
        return Judgment(True, share * 100, ratio * 100, "%",
                        f"no 5xx burst at {hold.label()}: the worst {width} s of the hold had {worst.server_errors} "
                        f"5xx of {worst.answered} answers ({share:.1%}, limit {ratio:.0%})",
                        _undetermined(analysis, True), details)
    labels = analysis.labels
    by_route = {route: window(analysis.timeline, worst.start, worst.end, route).server_errors
                for route in analysis.timeline.routes}
    hit = ", ".join(f"{labels.get(r, r)} {n}" for r, n in sorted(by_route.items(), key=lambda i: -i[1]) if n)

    def failed(sw: Window) -> bool | None:
        return None if sw.answered < MIN_STEP_SAMPLES else sw.server_error_ratio > ratio

    found = analysis.first_route_break(failed, lambda sw: sw.server_error_ratio)
    where = ""
    if found is not None:
        step, route = found
        where = analysis.where_broke(step, route, failed, lambda sw: f"{sw.server_errors} of {sw.answered} answers 5xx",
                                     verb="the 5xx began")
        details["broke_at"], details["broke_route"] = step.as_dict(), route
    return Judgment(False, share * 100, ratio * 100, "%", (
        f"a 5xx burst at {hold.label()}: {worst.server_errors} of {worst.answered} answers ({share:.1%}) were 5xx in "
        f"the {width} s from {worst.start} s (limit {ratio:.0%} in any {width} s): {hit}{where}"),
        analysis.lost, details)


def lost_before_load(timeline: Timeline, steps: Sequence[Step], settle_s: float, budget: float) -> str | None:
    """Requests lost without an answer at 1x, before any load: the path to the target, not the load."""
    first = steps[0]
    w = step_window(timeline, first, settle_s)
    if w.requests < MIN_STEP_SAMPLES or w.no_answer / w.requests < budget:
        return None
    return (f"{w.no_answer} of {w.requests} requests got no answer at {first.label()}, before any load "
            "(timeouts or connections cut): the network on the way, not the load")
