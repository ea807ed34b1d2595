"""The ``[load]`` section of a target: the platform's normal traffic, how far and how long to push it.

The load check (``tests/load``) ramps from the baseline to ``multiplier`` times it in ``steps``,
holds there for ``hold_s`` and ramps down; the guide's budgets are judged on what the hold measured.
The routes are the target's own (pages, public APIs, health, and with the synthetic Clerk user the
signed-in API and the AI route); ``weights`` says how much of the traffic each gets.  Everything is
checked on load, like the rest of the config: a route the weights name must exist, and every route
must get enough requests in the hold for its p95 to mean something.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smokegate.load.routes import AI_ROUTE, HEALTH_ROUTE, PLANNED_SAMPLES, SIGNED_IN_ROUTE


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Model):
    """Each route's share of the traffic is its weight over the sum of all weights (0 leaves it out)."""

    page: float = Field(2.0, ge=0)  # each page of ``pages``
    api: float = Field(1.0, ge=0)  # each endpoint of ``api``
    health: float = Field(1.0, ge=0)
    signed_in_api: float = Field(1.0, ge=0)  # the synthetic user's GET ``synthetic.user_api_path``
    ai: float = Field(0.5, ge=0)  # the synthetic user's ``synthetic.ai`` request
    # Per route, by id (``page-pricing = 4``, ``api-plans = 0``): wins over the kind's weight.
    routes: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _non_negative(self) -> Weights:
        bad = sorted(name for name, weight in self.routes.items() if not weight >= 0 or math.isinf(weight))
        if bad:
            raise ValueError(f"routes: weights must be finite numbers >= 0 ({', '.join(bad)})")
        return self


class LoadConfig(_Model):
    """How the load check pushes a target: a shape from 1x to ``multiplier`` x ``baseline_rps``."""

    # The platform's normal traffic in requests per second (read it off production's analytics).
    baseline_rps: float = Field(10.0, gt=0, le=100_000)
    multiplier: float = Field(10.0, ge=1, le=100)
    # The ramp from 1x to the peak: ``steps`` equal steps (1x, then evenly up to just below the peak),
    # each ``ramp_s / steps`` seconds; then the hold at the peak, then ``ramp_down_s`` back at 1x.
    ramp_s: float = Field(120.0, ge=1, le=3600)
    steps: int = Field(9, ge=1, le=100)
    hold_s: float = Field(120.0, ge=2, le=7200)
    ramp_down_s: float = Field(10.0, ge=0, le=600)
    # Seconds at the start of each step and of the hold left out of its figures (users still spawning).
    settle_s: float = Field(1.0, ge=0, le=60)
    # Requests per second each virtual user sends (Locust's constant_throughput): users = rps / user_rps.
    user_rps: float = Field(1.0, gt=0, le=100)
    # A request unanswered after this long counts as an error (what a user would see).
    request_timeout_s: float = Field(10.0, gt=0, le=120)
    # No 5xx burst: no ``burst_window_s`` window of the hold with more than ``burst_ratio`` 5xx answers.
    burst_window_s: float = Field(5.0, gt=0, le=60)
    burst_ratio: float = Field(0.05, ge=0, le=1)
    # The generator judges itself: a process at this CPU (% of one core) or whose event loop runs this late
    # in a second has stalled, and its requests of that second are left out of the times judged; a lag
    # below it is still taken off a time over budget before the target is blamed (README).
    max_generator_cpu: float = Field(90.0, gt=0, le=100)
    max_generator_lag_ms: float = Field(200.0, gt=0, le=10_000)
    weights: Weights = Weights()
    # Master/worker runs (``--load-workers N``): where the master listens, how long it waits for workers.
    master_bind_host: str = Field("*", min_length=1)
    master_bind_port: int = Field(5557, ge=1, le=65535)
    workers_wait_s: float = Field(120.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _shape(self) -> LoadConfig:
        step = self.ramp_s / self.steps
        if step <= self.settle_s:
            raise ValueError(f"each ramp step lasts ramp_s / steps = {step:g} s, not more than settle_s "
                             f"({self.settle_s:g} s): nothing of it would be measured")
        if self.hold_s <= self.settle_s:
            raise ValueError(f"hold_s ({self.hold_s:g} s) must be longer than settle_s ({self.settle_s:g} s)")
        return self

    @property
    def peak_rps(self) -> float:
        return self.baseline_rps * self.multiplier

    @property
    def duration_s(self) -> float:
        return self.ramp_s + self.hold_s + self.ramp_down_s

    def route_weights(self, pages: Iterable[str], api: Iterable[str]) -> dict[str, float]:
        """Every route of the traffic mix and its weight (routes with weight 0 included)."""
        w = self.weights
        found = {f"page-{name}": w.page for name in pages}
        found |= {f"api-{name}": w.api for name in api}
        found |= {HEALTH_ROUTE: w.health, SIGNED_IN_ROUTE: w.signed_in_api, AI_ROUTE: w.ai}
        return found | {name: weight for name, weight in w.routes.items() if name in found}

    def problems(self, pages: Iterable[str], api: Iterable[str]) -> list[str]:
        """What is wrong with this section given the target's pages and API endpoints."""
        known = self.route_weights(pages, api)
        unknown = sorted(set(self.weights.routes) - set(known))
        if unknown:
            return [f"weights.routes: no route named {', '.join(unknown)} (routes: {', '.join(sorted(known))})"]
        total = sum(known.values())
        if total <= 0:
            return ["weights: every route weighs 0: there is no traffic to send"]
        measured = self.hold_s - self.settle_s
        wanted = PLANNED_SAMPLES
        found = []
        for name, weight in sorted(known.items()):
            expected = self.peak_rps * weight / total * measured
            if weight > 0 and expected < wanted:
                found.append(
                    f"route {name} would get about {expected:.0f} requests in the hold ({weight / total:.1%} of "
                    f"{self.peak_rps:g} rps for the {measured:g} s measured), fewer than the {wanted} that make its "
                    f"p95 dependable: raise hold_s or its weight "
                    f"(weights.routes.{name}), or set it to 0")
        return found

