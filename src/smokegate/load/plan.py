"""The load plan: the routes the virtual users visit and the shape they follow, built from the target config.

A :class:`Plan` is plain data.  The pytest side builds it (:func:`plan_for`) and hands it to the
Locust process as JSON in a private file; the Locust master forwards it to its workers, on this
machine or others.  Nothing here imports Locust, gevent or pytest, and the config model is imported
for types only, so the plan can be read in the Locust processes without pydantic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from smokegate.checks.load_timeline import Step, schedule
from smokegate.load.routes import AI_ROUTE, HEALTH_ROUTE, SIGNED_IN_ROUTE

if TYPE_CHECKING:
    from smokegate.config import Target

# The fewest answers a route's p95 over the hold is judged on: of 10 to 19 it is their slowest (Locust's
# percentile), which a pass must stay under; with fewer the check could not be determined (the config
# plans for more: load.routes.PLANNED_SAMPLES).
MIN_SAMPLES = 10


@dataclass(frozen=True)
class Route:
    """One kind of request of the traffic mix, and the answer that counts as served."""

    id: str
    method: str
    path: str
    expect_status: int
    budget_ms: float
    weight: float
    # Text the page must show (searched in the body's bytes): a 200 without it is an error.
    text: str | None = None
    json_body: dict[str, Any] | None = None
    # Sent with the synthetic user's session.
    signed_in: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path} ({self.id})"


@dataclass(frozen=True)
class Session:
    """The synthetic Clerk user's session, as clerk-js keeps it: refreshed from the Frontend API.

    Secret: it lives in the plan file (private) and in the generator processes only.
    """

    frontend_api: str
    session_id: str
    client_cookie: str
    jwt: str


@dataclass(frozen=True)
class Plan:
    base_url: str
    routes: tuple[Route, ...]
    steps: tuple[Step, ...]
    user_rps: float
    request_timeout_s: float
    # PEM text of the CA to trust, or None for the operating system's store.
    ca_pem: str | None = None
    # Sent with every request (Vercel's protection bypass on a protected deployment).
    headers: dict[str, str] = field(default_factory=dict)
    session: Session | None = None

    @property
    def duration_s(self) -> float:
        return self.steps[-1].end_s

    @property
    def mix(self) -> tuple[Route, ...]:
        """The routes actually sent (weight above 0)."""
        return tuple(r for r in self.routes if r.weight > 0)

    def to_json(self) -> str:
        data = asdict(self)
        data["steps"] = [s.as_dict() for s in self.steps]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(
            base_url=data["base_url"],
            routes=tuple(Route(**r) for r in data["routes"]),
            steps=tuple(Step.from_dict(s) for s in data["steps"]),
            user_rps=float(data["user_rps"]),
            request_timeout_s=float(data["request_timeout_s"]),
            ca_pem=data.get("ca_pem"),
            headers=dict(data.get("headers") or {}),
            session=Session(**data["session"]) if data.get("session") else None,
        )


def routes_of(target: Target) -> list[Route]:
    """Every route of the target's traffic mix, with its weight and budget (signed-in ones included)."""
    load, budgets, syn = target.load, target.budgets, target.synthetic
    weights = load.route_weights([p.name for p in target.pages], [a.name for a in target.api])
    found = [Route(f"page-{p.name}", "GET", p.path, 200, target.page_budget(p), weights[f"page-{p.name}"], p.text)
             for p in target.pages]
    found += [Route(f"api-{a.name}", a.method, a.path, a.expect_status, target.api_budget(a), weights[f"api-{a.name}"],
                    json_body=a.json_body) for a in target.api]
    found.append(Route(HEALTH_ROUTE, "GET", target.health.path, 200, budgets.health_ms, weights[HEALTH_ROUTE]))
    found.append(Route(SIGNED_IN_ROUTE, "GET", syn.user_api_path, 200, budgets.api_ms, weights[SIGNED_IN_ROUTE],
                       signed_in=True))
    ai = syn.ai
    found.append(Route(AI_ROUTE, ai.method, ai.path, 200, ai.budget_ms or budgets.ai_ms, weights[AI_ROUTE],
                       json_body=ai.body if ai.method == "POST" else None, signed_in=True))
    return found


def steps_of(target: Target) -> list[Step]:
    load = target.load
    return schedule(baseline_rps=load.baseline_rps, multiplier=load.multiplier, ramp_s=load.ramp_s,
                    steps=load.steps, hold_s=load.hold_s, ramp_down_s=load.ramp_down_s, user_rps=load.user_rps)


def plan_for(target: Target, *, session: Session | None, ca_pem: str | None, headers: dict[str, str]) -> Plan:
    """The plan of a run; without a session the signed-in routes are left out of the mix."""
    routes = [r if (session is not None or not r.signed_in) else Route(**{**asdict(r), "weight": 0.0})
              for r in routes_of(target)]
    return Plan(base_url=target.base_url, routes=tuple(routes), steps=tuple(steps_of(target)),
                user_rps=target.load.user_rps, request_timeout_s=target.load.request_timeout_s, ca_pem=ca_pem,
                headers=headers, session=session)
