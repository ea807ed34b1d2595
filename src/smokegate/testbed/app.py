"""The testbed's ASGI apps: the public platform, the HTTP-to-HTTPS redirector and the admin API.

The public app is what the suite tests; it answers only what the real platform would.  Faults are
switched through the admin app, which listens on its own loopback port and wants a bearer token,
so no check can lean on it.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smokegate.testbed import api, auth_routes, clerk, nextjs_server, security, site, vercel, webhooks
from smokegate.testbed import faults as fault_catalog
from smokegate.testbed.admin_api import FaultsRefused, admin_app
from smokegate.testbed.chaos import ChaosProxy
from smokegate.testbed.context import Testbed
from smokegate.testbed.load import LoadFaults

HSTS = "max-age=63072000; includeSubDomains; preload"
PLATFORM_HEADERS = {
    "server": "Vercel",
    "strict-transport-security": HSTS,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


SPA_SHELL = (
    '<!doctype html><html lang="en"><head><meta charset="UTF-8"/><title>Napoleon AI</title>'
    '<script type="module" crossorigin src="/assets/index-4f1c2a9b.js"></script></head>'
    '<body><div id="root"></div></body></html>'
)


# The pool faults (error-5pct, status-upstream-failing): three requests in flight at once are load.
UNDER_LOAD_IN_FLIGHT = 3
UPSTREAM_SERVICE_S = 0.02


class EdgeMiddleware:
    """What Vercel's edge adds to every answer, and the load-dependent faults."""

    def __init__(self, app: ASGIApp, tb: Testbed) -> None:
        self.app = app
        self.tb = tb
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.tb.state
        state.served += 1
        if state.on("catch-all-html"):
            # A single-page-app fallback (``"rewrites": [{"source": "/(.*)", "destination": "/index.html"}]``)
            # deployed in place of the platform: every path answers 200 with the same shell page.
            await HTMLResponse(SPA_SHELL)(scope, receive, self._edge(send))
            return
        pool_faults = state.on("error-5pct") or state.on("status-upstream-failing")
        if not pool_faults:
            await self.app(scope, receive, self._edge(send))
            return
        # An upstream pool too small for concurrent load: what is refused depends on the requests in
        # flight at once, counted here, never on who sent them or how recently (a check that follows
        # a burst sees an idle server).
        self.in_flight += 1
        try:
            under_load = self.in_flight >= UNDER_LOAD_IN_FLIGHT
            # The upstream's own service time: without it, answers on loopback are so fast that
            # concurrent clients hardly ever overlap, as they would on a real server.
            await asyncio.sleep(UPSTREAM_SERVICE_S)
            if under_load and state.on("error-5pct"):
                state.concurrent_served += 1
                if state.concurrent_served % 20 == 0:
                    await JSONResponse({"error": "Bad Gateway"}, status_code=502)(scope, receive, self._edge(send))
                    return
            if under_load and state.on("status-upstream-failing") and scope["path"] == "/api/status":
                # The status route's upstream has too few connections: under load every 3rd request fails.
                state.concurrent_served += 1
                if state.concurrent_served % 3 == 0:
                    await JSONResponse({"error": "Bad Gateway"}, status_code=502)(scope, receive, self._edge(send))
                    return
            await self.app(scope, receive, self._edge(send))
        finally:
            self.in_flight -= 1

    def _edge(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in PLATFORM_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                headers.append((b"x-vercel-id", f"iad1::{secrets.token_hex(6)}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def create_public_app(tb: Testbed) -> ASGIApp:
    async def not_found(request: Request, exc: Exception) -> Response:
        if tb.state.on("dev-mode-errors"):
            # A development build deployed: errors come back with the stack, as `next dev` shows them.
            unsupported = isinstance(exc, HTTPException) and exc.status_code == 405
            return security.dev_error(500 if unsupported else 404, f"Error: {request.method} {request.url.path}"
                                      + (" is not exported by route.ts" if unsupported else " not found"))
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return JSONResponse({"error": "Method Not Allowed"}, status_code=405)
        status = 500 if tb.state.on("unknown-route-500") else 404
        response = site.error_page(tb, request, status)
        if status == 404 and tb.state.on("soft-404"):
            # A catch-all route renders the not-found page without calling notFound(): 200.
            response.status_code = 200
        return response

    app = Starlette(
        routes=[*site.routes(tb), *api.routes(tb), *auth_routes.routes(tb), *security.routes(tb), *webhooks.routes(tb),
                *clerk.routes(tb)],
        exception_handlers={404: not_found, 405: not_found},
    )
    # Outermost, so the security faults can also take away what the edge adds; Vercel's Deployment
    # Protection answers before any of it, as it does at Vercel's edge.
    # next start's own layer (middleware, image optimizer: testbed/nextjs_server.py) sits inside the edge.
    server = nextjs_server.NextServer(LoadFaults(app, tb), tb)
    return vercel.DeploymentProtection(security.SecurityMiddleware(EdgeMiddleware(server, tb), tb), tb)


def create_redirect_app(https_port: int, tb: Testbed | None = None, public: ASGIApp | None = None) -> ASGIApp:
    """Plain HTTP answers every request with a permanent redirect to the same host over HTTPS."""

    async def redirect(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if tb is not None and public is not None and tb.state.on("http-no-redirect"):
            # The http-no-redirect fault: the site itself is served over plain HTTP.
            await public(scope, receive, send)
            return
        request = Request(scope, receive)
        host = request.url.hostname or "localhost"
        url = request.url.replace(scheme="https", netloc=f"{host}:{https_port}")
        await RedirectResponse(str(url), status_code=308)(scope, receive, send)

    return redirect


def create_admin_app(tb: Testbed, info: dict[str, Any], proxies: dict[str, ChaosProxy] | None = None) -> ASGIApp:
    async def set_faults(names: list[str]) -> None:
        try:
            tb.state.set_faults(names)
        except KeyError as exc:
            raise FaultsRefused(str(exc.args[0])) from None
        if tb.on_faults_changed is not None:
            await tb.on_faults_changed(set(tb.state.active))

    async def protection(request: Request) -> Response:
        if request.method == "PUT":
            body = await request.json()
            tb.state.protected = bool(body.get("on"))
        return JSONResponse({"on": tb.state.protected})

    async def events(request: Request) -> Response:
        return JSONResponse({"events": list(tb.state.events), "served": tb.state.served})

    return admin_app(lambda: tb.state.admin_token, active=lambda: tb.state.active, known=fault_catalog.CATALOG,
                     set_faults=set_faults, info=info, proxies=proxies,
                     more={"/events": (events, ["GET"]), "/protection": (protection, ["GET", "PUT"])})
