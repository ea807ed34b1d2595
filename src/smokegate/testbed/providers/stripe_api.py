"""Stripe's API for the platform's account, as Stripe documents it (the parts the suite reads).

A secret or restricted key as bearer token (a wrong one: 401, ``{"error": {"type":
"invalid_request_error", "message": "Invalid API Key provided: rk_live_****…"}}``).  Lists are
``{"object": "list", "url", "has_more", "data"}``, newest first, ``limit`` 1-100 (default 10),
``starting_after`` an object id, ``created[gte]`` a Unix time.

- ``GET /v1/webhook_endpoints``: the platform's endpoint (``{origin}/api/webhooks/stripe``, status
  ``enabled``) and an old one of a retired service.
- ``GET /v1/events``: ``delivery_success=false`` lists the events still pending or failed at every
  endpoint (healthy: one, a few seconds old, still being delivered).
- ``GET /v1/charges``: a day of charges, ``status`` ``succeeded``/``failed``, each with the
  customer's ``billing_details`` (name, email): personal data the suite must never keep.

Faults: ``stripe-webhook-disabled`` (Stripe disabled the platform's endpoint after days of
failures), ``stripe-deliveries-failing`` (130 events of the last day undelivered: the receiver
answers 500), ``stripe-payments-failing`` (half of the day's charges failed: a broken checkout).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smokegate.testbed.providers.people import PEOPLE

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

DISABLED = "stripe-webhook-disabled"
DELIVERIES = "stripe-deliveries-failing"
PAYMENTS = "stripe-payments-failing"
CHARGES_PER_DAY = 180


def _id(prefix: str, *parts: object) -> str:
    return prefix + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:24]


def _error(status: int, message: str, kind: str = "invalid_request_error", **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status)


def _page(request: Request, url: str, items: list[dict[str, Any]]) -> Response:
    """Stripe's list pagination over ``items`` (newest first), honouring ``created[gte]``."""
    try:
        limit = int(request.query_params.get("limit", "10"))
        since = int(request.query_params.get("created[gte]", "0"))
    except ValueError:
        return _error(400, "Invalid integer", param="limit")
    if not 1 <= limit <= 100:
        return _error(400, "This value must be greater than or equal to 1 and less than or equal to 100.",
                      param="limit")
    chosen = [i for i in items if i["created"] >= since]
    after = request.query_params.get("starting_after")
    if after is not None:
        ids = [i["id"] for i in chosen]
        if after not in ids:
            return _error(400, f"No such object: '{after}'", code="resource_missing", param="starting_after")
        chosen = chosen[ids.index(after) + 1:]
    return JSONResponse({"object": "list", "url": url, "has_more": len(chosen) > limit, "data": chosen[:limit]})


def _charges(tb: Testbed, now: int) -> list[dict[str, Any]]:
    failing = tb.state.on(PAYMENTS)
    charges = []
    for n in range(CHARGES_PER_DAY):
        created = now - 60 - n * (86_000 // CHARGES_PER_DAY)
        failed = (n % 2 == 0) if failing else (n % 20 == 7)
        person = PEOPLE[n % len(PEOPLE)]
        charges.append({
            "id": _id("ch_3Np", n), "object": "charge", "amount": 4900, "currency": "usd", "created": created,
            "customer": _id("cus_", person.email), "paid": not failed, "captured": not failed,
            "status": "failed" if failed else "succeeded",
            "failure_code": "card_declined" if failed else None,
            "billing_details": {"name": person.name, "email": person.email, "phone": None,
                                "address": {"country": "GB", "postal_code": None, "line1": None}},
            "receipt_email": person.email, "livemode": True,
        })
    return charges


def _events(tb: Testbed, now: int, undelivered: bool) -> list[dict[str, Any]]:
    if not undelivered:
        return []
    count = 130 if tb.state.on(DELIVERIES) else 1
    return [{"id": _id("evt_1Np", n), "object": "event", "type": "invoice.paid", "api_version": "2024-06-20",
             "created": now - 5 - n * 600, "livemode": True, "pending_webhooks": 1,
             "data": {"object": {"id": _id("in_1Np", n), "object": "invoice",
                                 "customer_email": PEOPLE[n % len(PEOPLE)].email}}} for n in range(count)]


def routes(tb: Testbed, key: str) -> list[Route]:
    def refused(request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), key.encode()):
            shown = given[7:][:8] + "****" + given[-4:] if len(given) > 16 else "****"
            return _error(401, f"Invalid API Key provided: {shown}")
        return None

    async def endpoints(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        created = int(time.time()) - 90 * 86_400
        own = {"id": "we_1NpPlatformEndpoint", "object": "webhook_endpoint",
               "url": f"{tb.public_origin}/api/webhooks/stripe", "status": "disabled" if tb.state.on(DISABLED)
               else "enabled", "enabled_events": ["checkout.session.completed", "invoice.paid",
                                                  "customer.subscription.updated"],
               "api_version": "2024-06-20", "livemode": True, "created": created, "description": "Napoleon AI"}
        retired = {**own, "id": "we_1NpRetiredService", "url": "https://legacy.napoleonai.app/stripe",
                   "status": "disabled", "created": created - 400 * 86_400, "description": "retired"}
        return _page(request, "/v1/webhook_endpoints", [own, retired])

    async def events(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        undelivered = request.query_params.get("delivery_success") == "false"
        return _page(request, "/v1/events", _events(tb, int(time.time()), undelivered))

    async def charges(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        return _page(request, "/v1/charges", _charges(tb, int(time.time())))

    return [
        Route("/v1/webhook_endpoints", endpoints),
        Route("/v1/events", events),
        Route("/v1/charges", charges),
    ]
