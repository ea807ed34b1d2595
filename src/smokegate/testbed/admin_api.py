"""The testbeds' admin API: a bearer token before every route, and the routes both testbeds answer.

The Python testbed (:mod:`smokegate.testbed.app`) and the real Next.js one (:mod:`smokegate.testbed.realnext`)
are driven the same way by the self-tests and tools: ``/faults`` (GET the active ones, PUT
``{"active": [...]}``), ``/about`` (what ``testbed.json`` says) and ``/chaos``
(:func:`smokegate.testbed.chaos.admin`).  Each testbed says how it switches faults; a testbed may add
routes of its own (the Python one: ``/events``, ``/protection``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smokegate.testbed.chaos import ChaosProxy
from smokegate.testbed.chaos import admin as chaos_admin

Handler = Callable[[Request], Awaitable[Response]]


class FaultsRefused(Exception):
    """The faults asked for cannot be switched on; ``status`` is what the admin API answers (400, 500)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def admin_app(
    token: Callable[[], str], *, active: Callable[[], Iterable[str]], known: Iterable[str],
    set_faults: Callable[[list[str]], Awaitable[None]], info: Mapping[str, Any],
    proxies: Mapping[str, ChaosProxy] | None = None, more: Mapping[str, tuple[Handler, list[str]]] | None = None,
) -> Starlette:
    """The admin API's app.  ``set_faults`` raises :class:`FaultsRefused` for a set it cannot switch to;
    ``more`` maps a path to a handler and its methods (behind the same token)."""
    known_names = sorted(known)

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            body = await request.json()
            try:
                await set_faults(list(body.get("active", [])))
            except FaultsRefused as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return JSONResponse({"active": sorted(active()), "known": known_names})

    async def about(request: Request) -> Response:
        return JSONResponse(dict(info))

    async def chaos(request: Request) -> Response:
        body = await request.json() if request.method == "PUT" and proxies else None
        status, payload = chaos_admin(proxies or {}, body)
        return JSONResponse(payload, status_code=status)

    routes = {"/faults": (faults, ["GET", "PUT"]), "/about": (about, ["GET"]), "/chaos": (chaos, ["GET", "PUT"]),
              **(more or {})}
    return Starlette(routes=[Route(path, _guarded(token, handler), methods=methods)
                             for path, (handler, methods) in routes.items()])


def _guarded(token: Callable[[], str], handler: Handler) -> Handler:
    async def route(request: Request) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token().encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await handler(request)

    return route
