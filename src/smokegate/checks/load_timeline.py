"""The load check's figures: the shape's steps, and a run's timeline per second and route.

Pure logic (no Locust, no pytest, no network); what the figures say about each threshold is in
:mod:`smokegate.checks.load_verdict`.  A run's *timeline* holds, per second since the shape
started and per route, how many requests were sent in that second, their response times as a
histogram (rounded as Locust rounds them, so percentiles match its report) and their errors by
category.  The seconds are those the requests *started* in, whichever process sent them, so a
worker's late report never moves a request into the wrong step.  From it:

* :func:`schedule`: the steps of the shape (1x, evenly up towards the peak, the hold, back at 1x);
* :class:`Timeline` and :func:`window`: a route's (or all routes') figures over a span of seconds, less
  the requests of the seconds a generator process stalled in, when asked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["ramp", "hold", "down"]
# Error categories, as the generator records them.
SERVER_ERROR = "5xx"  # the target answered 5xx
WRONG_STATUS = "status"  # another status than the route's (a 4xx, a 429)
CONTENT = "content"  # the expected status without the page's text
TIMEOUT = "timeout"  # no answer within the request timeout
CONNECTION = "connection"  # refused, reset or closed without an answer
NO_ANSWER = (TIMEOUT, CONNECTION)
CATEGORIES = (SERVER_ERROR, WRONG_STATUS, CONTENT, TIMEOUT, CONNECTION)
# Fewer answers than this in one step are too few to say the step failed.
MIN_STEP_SAMPLES = 5


def bucket(ms: float) -> int:
    """A response time rounded as Locust stores it: exact under 100 ms, to 10 ms under 1 s, then to 100 ms."""
    if ms < 100:
        return round(ms)
    for limit, digits in ((1000, -1), (10000, -2)):
        if ms < limit:
            return int(round(ms, digits))
    return int(round(ms, -3))


def percentile(hist: Mapping[int, int], pct: float) -> float | None:
    """The ``pct`` percentile (0-100) of a histogram, as Locust computes it for its report: the largest
    value with at most ``int(n * pct / 100)`` answers below it."""
    total = sum(hist.values())
    if total == 0:
        return None
    below_allowed = int(total * pct / 100)
    above = 0
    for value in sorted(hist, reverse=True):
        above += hist[value]
        if total - above <= below_allowed:
            return float(value)
    return float(min(hist))  # pragma: no cover - the smallest value always qualifies


# -- the shape ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of the shape: its multiple of the baseline, the rate and users that make it, its span."""

    index: int
    phase: Phase
    multiple: float
    rps: float
    users: int
    start_s: float
    end_s: float

    def label(self) -> str:
        return f"{self.multiple:g}x ({self.rps:g} rps, {self.users} users)"

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "phase": self.phase, "multiple": self.multiple, "rps": self.rps,
                "users": self.users, "start_s": self.start_s, "end_s": self.end_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(int(data["index"]), data["phase"], float(data["multiple"]), float(data["rps"]),
                   int(data["users"]), float(data["start_s"]), float(data["end_s"]))


def users_for(rps: float, user_rps: float) -> int:
    return max(1, math.ceil(rps / user_rps - 1e-9))


def schedule(*, baseline_rps: float, multiplier: float, ramp_s: float, steps: int, hold_s: float,
             ramp_down_s: float, user_rps: float) -> list[Step]:
    """The shape: ``steps`` ramp steps from 1x evenly towards the peak, the hold at the peak, 1x to end."""
    found: list[Step] = []
    length = ramp_s / steps
    for i in range(steps):
        multiple = round(1 + (multiplier - 1) * i / steps, 3)
        rps = round(baseline_rps * multiple, 3)
        found.append(Step(i, "ramp", multiple, rps, users_for(rps, user_rps), round(i * length, 3),
                          round((i + 1) * length, 3)))
    peak = round(baseline_rps * multiplier, 3)
    found.append(Step(steps, "hold", multiplier, peak, users_for(peak, user_rps), ramp_s, ramp_s + hold_s))
    if ramp_down_s > 0:
        found.append(Step(steps + 1, "down", 1.0, baseline_rps, users_for(baseline_rps, user_rps),
                          ramp_s + hold_s, ramp_s + hold_s + ramp_down_s))
    return found


def step_at(steps: Sequence[Step], elapsed_s: float) -> Step | None:
    """The step running ``elapsed_s`` seconds after the start, None once the shape is over."""
    return next((s for s in steps if s.start_s <= elapsed_s < s.end_s), None)


def hold_of(steps: Sequence[Step]) -> Step:
    return next(s for s in steps if s.phase == "hold")


# -- the timeline -------------------------------------------------------------------------------------


@dataclass
class RouteTick:
    """One route's requests started in one second."""

    n: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    hist: Counter[int] = field(default_factory=Counter)

    def add(self, other: RouteTick) -> None:
        self.n += other.n
        self.errors.update(other.errors)
        self.hist.update(other.hist)

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "errors": dict(self.errors), "hist": {str(k): v for k, v in self.hist.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteTick:
        return cls(int(data.get("n", 0)), Counter({str(k): int(v) for k, v in data.get("errors", {}).items()}),
                   Counter({int(k): int(v) for k, v in data.get("hist", {}).items()}))


@dataclass(frozen=True)
class GeneratorSample:
    """One second of one generator process: its CPU (% of one core) and its event loop's worst lag."""

    t: int
    process: str
    cpu: float
    lag_ms: float


@dataclass
class Timeline:
    """What a run sent and got, per second since the shape started and per route (and per process)."""

    ticks: dict[int, dict[str, RouteTick]] = field(default_factory=dict)
    generator: list[GeneratorSample] = field(default_factory=list)
    # The most frequent error messages per route ("HTTP 503", "timed out after 10 s").
    messages: dict[str, Counter[str]] = field(default_factory=dict)
    # The same ticks per generator process: a process that stalled taints its own requests only.
    by_process: dict[str, dict[int, dict[str, RouteTick]]] = field(default_factory=dict)

    def add(self, t: int, route: str, tick: RouteTick, process: str | None = None) -> None:
        self.ticks.setdefault(t, {}).setdefault(route, RouteTick()).add(tick)
        if process is not None:
            self.by_process.setdefault(process, {}).setdefault(t, {}).setdefault(route, RouteTick()).add(tick)

    @property
    def routes(self) -> list[str]:
        return sorted({route for second in self.ticks.values() for route in second})

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticks": {str(t): {r: rt.as_dict() for r, rt in routes.items()}
                      for t, routes in sorted(self.ticks.items())},
            "generator": [[g.t, g.process, g.cpu, g.lag_ms] for g in self.generator],
            "messages": {route: dict(c) for route, c in self.messages.items()},
            "by_process": {process: {str(t): {r: rt.as_dict() for r, rt in routes.items()}
                                     for t, routes in sorted(seconds.items())}
                           for process, seconds in self.by_process.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Timeline:
        timeline = cls()
        by_process = data.get("by_process") or {}
        if by_process:
            for process, seconds in by_process.items():
                for t, routes in seconds.items():
                    for route, tick in routes.items():
                        timeline.add(int(t), route, RouteTick.from_dict(tick), str(process))
        else:
            for t, routes in data.get("ticks", {}).items():
                for route, tick in routes.items():
                    timeline.add(int(t), route, RouteTick.from_dict(tick))
        timeline.generator = [GeneratorSample(int(t), str(p), float(c), float(lag))
                              for t, p, c, lag in data.get("generator", [])]
        timeline.messages = {route: Counter({str(k): int(v) for k, v in c.items()})
                             for route, c in data.get("messages", {}).items()}
        return timeline


@dataclass(frozen=True)
class Window:
    """Figures of one route (or of all) over whole seconds ``[start, end)``."""

    start: int
    end: int
    requests: int
    errors: Counter[str]
    hist: Counter[int]

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def error_ratio(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    @property
    def no_answer(self) -> int:
        return sum(self.errors[c] for c in NO_ANSWER)

    @property
    def answered(self) -> int:
        return self.requests - self.no_answer

    @property
    def server_errors(self) -> int:
        return self.errors[SERVER_ERROR]

    @property
    def server_error_ratio(self) -> float:
        return self.server_errors / self.answered if self.answered else 0.0

    def p(self, pct: float) -> float | None:
        return percentile(self.hist, pct)

    def mean_ms(self) -> float | None:
        total = sum(self.hist.values())
        return sum(v * n for v, n in self.hist.items()) / total if total else None


def seconds_of(start_s: float, end_s: float, settle_s: float = 0.0) -> tuple[int, int]:
    """The whole seconds within ``[start_s + settle_s, end_s)``: the ticks a span is judged on.

    A second at most a tenth outside the span still counts: a step that began 10 ms late would
    otherwise lose a whole second of its figures.
    """
    return math.ceil(start_s + settle_s - 0.1), math.floor(end_s + 0.1)


Stall = tuple[str, int]  # (process, second)


def window(timeline: Timeline, start: int, end: int, route: str | None = None,
           exclude: frozenset[Stall] = frozenset()) -> Window:
    """Figures over ``[start, end)``, less the requests a process sent in a second ``exclude`` names."""
    requests, errors, hist = 0, Counter[str](), Counter[int]()
    for t in range(start, end):
        for name, tick in timeline.ticks.get(t, {}).items():
            if route is None or name == route:
                requests += tick.n
                errors.update(tick.errors)
                hist.update(tick.hist)
    for process, t in exclude:
        if not start <= t < end:
            continue
        for name, tick in timeline.by_process.get(process, {}).get(t, {}).items():
            if route is None or name == route:
                requests -= tick.n
                errors.subtract(tick.errors)
                hist.subtract(tick.hist)
    return Window(start, end, requests, +errors, +hist)


def step_window(timeline: Timeline, step: Step, settle_s: float, route: str | None = None) -> Window:
    return window(timeline, *seconds_of(step.start_s, step.end_s, settle_s), route=route)
