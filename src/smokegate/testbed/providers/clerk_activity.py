"""Clerk's Backend API, the part about who uses the platform: users, their activity and sessions.

Served beside the stand-in's other Backend API routes (``testbed/clerk.py``) on the same origin,
with the same secret key and ``{"errors": [...]}`` answers:

- ``GET /v1/users``: an array of users, filtered by ``email_address`` (repeatable),
  ``last_active_at_since`` (Unix milliseconds, day precision at Clerk), ordered by ``order_by``
  (``-created_at`` default, ``[+-]last_active_at``), ``limit`` 1-500 (default 10), ``offset``;
- ``GET /v1/users/count``: ``{"object": "total_count", "total_count": N}`` under the same filters;
- ``GET /v1/sessions``: a user's or a client's sessions (one of ``user_id``/``client_id`` is
  required), ``status`` filter, ``paginated=true`` for ``{"data", "total_count"}``.

The platform's users are 240 people (names and emails from :mod:`.people`), 37 of them active in
the last day with one or two active sessions each; the synthetic monitor (Ada, ``testbed/clerk.py``)
is active when it has signed in.  Fault ``clerk-no-activity``: nobody but the monitor was active for
three days and every session of the others has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smokegate.testbed import hosts
from smokegate.testbed.providers.people import PEOPLE

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from smokegate.testbed.context import Testbed

NO_ACTIVITY = "clerk-no-activity"
USERS = 240
ACTIVE = 37
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Member:
    id: str
    first: str
    last: str
    email: str
    created_ms: int
    active_ago_ms: int  # how long before now the user was last active
    sessions: int  # active sessions while active


def population() -> list[Member]:
    """The platform's users (deterministic: the canary self-test reads the same list)."""
    members = []
    now = 1_790_000_000_000
    for n in range(USERS):
        person = PEOPLE[n % len(PEOPLE)]
        digest = hashlib.sha256(f"clerk-member-{n}".encode()).hexdigest()
        active_ago = (n * 2_333_333) % DAY_MS if n < ACTIVE else DAY_MS * (2 + n % 40)
        members.append(Member(f"user_2{digest[:26]}", person.first, person.last,
                              f"{person.first.lower()}.{person.last.lower()}{n}@users.napoleon-testbed.example",
                              now - DAY_MS * (60 + n), active_ago, 1 + n % 2))
    return members


MEMBERS = population()


def app(tb: Testbed) -> ASGIApp:
    clerk = tb.clerk

    def refused(request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), clerk.secret_key.encode()):
            return None
        return _errors(401, "authentication_invalid", "Invalid authentication",
                       "Unable to authenticate the request, you need to supply an active API key")

    def everyone() -> list[dict[str, Any]]:
        """Users as the Backend API shows them, each with its activity (milliseconds) and active sessions."""
        now = int(time.time() * 1000)
        quiet = tb.state.on(NO_ACTIVITY)
        found = []
        for member in MEMBERS:
            ago = 3 * DAY_MS + member.active_ago_ms if quiet else member.active_ago_ms
            found.append(_user(member.id, member.first, member.last, member.email, member.created_ms,
                               now - ago) | {"_sessions": 0 if quiet or ago > DAY_MS else member.sessions})
        for user in clerk.users.values():  # the synthetic monitor
            sessions = [s for s, owner in clerk.sessions.items() if owner == user.id]
            data = user.json()
            data["last_active_at"] = now if sessions else now - 30 * DAY_MS
            found.append(data | {"_sessions": len(sessions)})
        return found

    def filtered(request: Request) -> list[dict[str, Any]] | Response:
        users = everyone()
        emails = {e.lower() for e in request.query_params.getlist("email_address")}
        if emails:
            users = [u for u in users if any(a["email_address"].lower() in emails for a in u["email_addresses"])]
        since = request.query_params.get("last_active_at_since")
        if since is not None:
            if not since.isdigit():
                return _errors(422, "form_param_format_invalid", "is invalid",
                               "last_active_at_since must be a Unix timestamp in milliseconds")
            # Clerk registers activity per day: "since" means since the start of that UTC day.
            day_start = int(since) // DAY_MS * DAY_MS
            users = [u for u in users if (u.get("last_active_at") or 0) >= day_start]
        return users

    async def users(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        found = filtered(request)
        if isinstance(found, Response):
            return found
        order = request.query_params.get("order_by", "-created_at")
        field = order.lstrip("+-")
        if field not in ("created_at", "last_active_at", "updated_at"):
            return _errors(422, "form_param_value_invalid", "is invalid", f"{order} is not a valid order_by value")
        found.sort(key=lambda u: u.get(field) or 0, reverse=order.startswith("-"))
        try:
            limit = int(request.query_params.get("limit", "10"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            return _errors(422, "form_param_format_invalid", "is invalid", "limit and offset must be integers")
        if not 1 <= limit <= 500 or offset < 0:
            return _errors(422, "form_param_value_invalid", "is invalid", "limit must be between 1 and 500")
        return JSONResponse([_public(u) for u in found[offset:offset + limit]])

    async def count(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        found = filtered(request)
        if isinstance(found, Response):
            return found
        return JSONResponse({"object": "total_count", "total_count": len(found)})

    async def sessions(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        user_id = request.query_params.get("user_id")
        if not user_id and not request.query_params.get("client_id"):
            return _errors(422, "form_param_missing", "missing required parameter",
                           "Either client_id or user_id must be provided.")
        owner = next((u for u in everyone() if u["id"] == user_id), None)
        status = request.query_params.get("status")
        active = owner["_sessions"] if owner else 0
        rows = [{"object": "session", "id": f"sess_2{hashlib.sha256(f'{user_id}{n}'.encode()).hexdigest()[:26]}",
                 "user_id": user_id, "status": "active", "last_active_at": owner.get("last_active_at") if owner else 0}
                for n in range(active)] if status in (None, "active") else []
        if request.query_params.get("paginated") == "true":
            limit = int(request.query_params.get("limit", "10") or 10)
            return JSONResponse({"data": rows[:limit], "total_count": len(rows)})
        return JSONResponse(rows)

    return Starlette(routes=[
        Route("/v1/users", users),
        Route("/v1/users/count", count),
        Route("/v1/sessions", sessions),
    ])


def _errors(status: int, code: str, message: str, long_message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "long_message": long_message, "code": code, "meta": {}}]},
                        status_code=status)


def _user(user_id: str, first: str, last: str, email: str, created_ms: int, active_ms: int) -> dict[str, Any]:
    email_id = "idn_2" + hashlib.sha256(email.encode()).hexdigest()[:26]
    return {
        "object": "user", "id": user_id, "first_name": first, "last_name": last, "username": None,
        "primary_email_address_id": email_id, "image_url": "https://img.clerk.com/x", "banned": False,
        "locked": False, "public_metadata": {}, "created_at": created_ms, "updated_at": created_ms,
        "last_active_at": active_ms, "last_sign_in_at": active_ms,
        "email_addresses": [{"object": "email_address", "id": email_id, "email_address": email,
                             "verification": {"status": "verified", "strategy": "email_code"}}],
    }


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if not k.startswith("_")}


def by_host(app_: ASGIApp, tb: Testbed, host: str) -> ASGIApp:
    """Serve these routes to ``host`` in front of the rest of Clerk's Backend API."""
    served = app(tb)
    return hosts.by_host(hosts.by_host(app_, host, served, path_prefix="/v1/users"), host, served,
                         path_prefix="/v1/sessions")
