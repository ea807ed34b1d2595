"""The providers' public status pages, as each provider serves them.

Vercel, Supabase, OpenAI and Clerk: Atlassian Statuspage's ``GET /api/v2/summary.json`` (``page``,
``components`` with ``group``/``group_id``/``components``, unresolved ``incidents`` naming the
components they affect, ``scheduled_maintenances``, ``status.indicator``).  Stripe:
``GET /current`` (``statuses`` of ``api``, ``dashboard``, ``stripejs``, ``checkoutjs``,
``webhooks``, ``emails`` as ``up``/``degraded``/``down``, ``largestatus``, ``message``, ``time``).
No authentication; each on its provider's own origin.

Faults: ``status-major-outage`` (Supabase: a major outage of Database in eu-west-1, with its
incident), ``status-partial-outage`` (the same as a partial outage: a hint, never a finding),
``status-stripe-api-down`` (Stripe's API down on its own page).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

MAJOR = "status-major-outage"
PARTIAL = "status-partial-outage"
STRIPE_DOWN = "status-stripe-api-down"
INDICATORS = {"operational": "none", "degraded_performance": "minor", "partial_outage": "major",
              "major_outage": "critical", "under_maintenance": "maintenance"}
DESCRIPTIONS = {"none": "All Systems Operational", "minor": "Minor Service Outage",
                "major": "Partial System Outage", "critical": "Major Service Outage"}
# Each page's components: plain ones, and groups with their children (Supabase lists regions per service).
PAGES: dict[str, tuple[str, list[str], dict[str, list[str]]]] = {
    "vercel": ("Vercel", ["Edge Network", "Serverless Functions", "Builds", "Deployments", "DNS", "Dashboard"], {}),
    "supabase": ("Supabase", ["Management API", "Dashboard"],
                 {"Database": ["eu-west-1", "us-east-1", "ap-southeast-1"], "Auth": ["eu-west-1", "us-east-1"],
                  "Storage": ["eu-west-1", "us-east-1"]}),
    "openai": ("OpenAI", ["Chat Completions", "Embeddings", "Responses", "ChatGPT", "Sora"], {}),
    "clerk": ("Clerk", ["Frontend API", "Backend API", "Dashboard", "Account Portal"], {}),
}
STRIPE_SERVICES = ("api", "dashboard", "stripejs", "checkoutjs", "webhooks", "emails")


def _id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary(provider: str, tb: Testbed, origin: str) -> dict[str, Any]:
    """A Statuspage ``summary.json`` of ``provider``'s page, with the faults applied."""
    name, plain, groups = PAGES[provider]
    page_id = _id(provider)
    now = datetime.now(UTC)
    created = "2019-03-12T17:11:04.203Z"
    # The trouble began ten minutes ago (a fixed start, so two reads agree on "since").
    began = now.replace(second=0, microsecond=0) - timedelta(minutes=10)
    trouble = None
    if provider == "supabase" and tb.state.on(MAJOR):
        trouble = "major_outage"
    elif provider == "supabase" and tb.state.on(PARTIAL):
        trouble = "partial_outage"
    components: list[dict[str, Any]] = []
    position = 1

    def component(name: str, group_id: str | None, status: str, children: list[str] | None = None) -> dict[str, Any]:
        nonlocal position
        item: dict[str, Any] = {
            "id": _id(provider, group_id or "", name), "name": name, "status": status, "created_at": created,
            "updated_at": _iso(began if status != "operational" else now - timedelta(days=3)),
            "position": position, "description": None, "showcase": group_id is None, "start_date": None,
            "group_id": group_id, "page_id": page_id, "group": children is not None, "only_show_if_degraded": False,
        }
        if children is not None:
            item["components"] = children
        position += 1
        return item

    for name in plain:
        components.append(component(name, None, "operational"))
    affected: list[dict[str, Any]] = []
    for group, regions in groups.items():
        group_id = _id(provider, "", group)
        children = [component(region, group_id, trouble if trouble and (group, region) == ("Database", "eu-west-1")
                              else "operational") for region in regions]
        affected += [c for c in children if c["status"] != "operational"]
        worst = max((c["status"] for c in children), key=lambda s: list(INDICATORS).index(s))
        components.append(component(group, None, worst, [c["id"] for c in children]))
        components += children
    incidents = []
    if affected:
        incidents.append({
            "id": _id(provider, "incident"), "name": "Degraded connectivity to databases in eu-west-1",
            "status": "identified", "created_at": _iso(began), "updated_at": _iso(now - timedelta(minutes=2)),
            "monitoring_at": None, "resolved_at": None, "impact": "critical" if trouble == "major_outage" else "major",
            "shortlink": "https://stspg.io/x1y2z3", "started_at": _iso(began), "page_id": page_id,
            "incident_updates": [{"id": _id(provider, "update"), "status": "identified",
                                  "body": "We have identified elevated connection errors and are applying a fix.",
                                  "created_at": _iso(began), "display_at": _iso(began)}],
            "components": affected,
        })
    indicator = INDICATORS[max((c["status"] for c in components), key=lambda s: list(INDICATORS).index(s))]
    return {
        "page": {"id": page_id, "name": name, "url": origin, "time_zone": "Etc/UTC", "updated_at": _iso(now)},
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": {"indicator": indicator, "description": DESCRIPTIONS.get(indicator, "Under Maintenance")},
    }


def stripe_current(tb: Testbed) -> dict[str, Any]:
    down = tb.state.on(STRIPE_DOWN)
    statuses = {service: ("down" if down and service == "api" else "up") for service in STRIPE_SERVICES}
    return {
        "statuses": statuses,
        "largestatus": "down" if down else "up",
        "message": "Stripe API requests are failing" if down else "All services are online",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if down else
        (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def statuspage_routes(provider: str, tb: Testbed, origin: str) -> list[Route]:
    async def summary_json(request: Request) -> Response:
        return JSONResponse(summary(provider, tb, origin),
                            headers={"cache-control": "max-age=0, private, must-revalidate"})

    return [Route("/api/v2/summary.json", summary_json)]


def stripe_routes(tb: Testbed) -> list[Route]:
    async def current(request: Request) -> Response:
        return JSONResponse(stripe_current(tb))

    return [Route("/current", current)]


def app(provider: str, tb: Testbed, origin: str) -> Starlette:
    routes = stripe_routes(tb) if provider == "stripe" else statuspage_routes(provider, tb, origin)
    return Starlette(routes=routes)
