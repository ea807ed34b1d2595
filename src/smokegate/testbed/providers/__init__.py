"""Stand-ins of the providers' own APIs and status pages, each on an origin of its own.

Five HTTPS listeners on loopback (``https://127.0.0.1:<port>``, the testbed's certificate), one per
provider: Vercel (REST API and status page), Supabase (Management API and status page), Stripe (API
and ``/current``), OpenAI and Clerk (status pages; Clerk's Backend API stays on the identity
provider's origin, :mod:`.clerk_activity`).  Requests and answers follow each provider's documented
shapes, authentication, pagination and errors (see each module).  ``testbed.json`` carries their
URLs under ``providers``; :func:`environment` turns them into the variables the target config's
``api_url_env``/``url_env`` keys name, with the tokens the stand-ins accept.

This is not the Supabase *project* API (PostgREST, Storage, Auth on ``<ref>.supabase.co``): the
Management API is another API at another origin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

ORIGINS = ("vercel", "supabase", "stripe", "openai", "clerk")


def _token(label: str, prefix: str, length: int) -> str:
    digest = hashlib.sha256(f"smokegate-testbed-provider:{label}".encode()).hexdigest()
    return prefix + (digest * 2)[:length]


# What the stand-ins accept, under the variable names the config's *_env keys name by default.
TOKENS: dict[str, str] = {
    "VERCEL_TOKEN": _token("vercel", "", 24),
    "SUPABASE_ACCESS_TOKEN": _token("supabase", "sbp_", 40),
    "STRIPE_READ_KEY": _token("stripe", "rk_" + "live_", 99),
}


class StandIns:
    """The stand-ins' state (the Vercel project's deployments survive a fault switch) and their apps."""

    def __init__(self, tb: Testbed) -> None:
        from smokegate.testbed.providers.vercel_api import VercelProject

        self.tb = tb
        self.vercel = VercelProject(tb, TOKENS["VERCEL_TOKEN"])

    def app(self, name: str, origin: str) -> ASGIApp:
        """The provider's routes; every request is recorded (admin API ``/events``) for the self-tests."""
        served = self._routes(name, origin)
        record = self.tb.state.record

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                record("provider-request", provider=name, path=scope["path"])
            await served(scope, receive, send)

        return counted

    def _routes(self, name: str, origin: str) -> Starlette:
        from smokegate.testbed.providers import status_pages, stripe_api, supabase_management, vercel_api

        routes: list[BaseRoute] = []
        if name == "stripe":
            routes += stripe_api.routes(self.tb, TOKENS["STRIPE_READ_KEY"])
        else:
            routes += status_pages.statuspage_routes(name, self.tb, origin)
        if name == "vercel":
            routes += vercel_api.routes(self.vercel)
        if name == "supabase":
            routes += supabase_management.routes(self.tb, TOKENS["SUPABASE_ACCESS_TOKEN"])
        if name == "stripe":
            routes += status_pages.stripe_routes(self.tb)
        return Starlette(routes=routes)


def environment(urls: Mapping[str, str]) -> dict[str, str]:
    """The variables a run against the testbed needs to reach the stand-ins: tokens and URLs."""
    env = dict(TOKENS)
    env["SMOKEGATE_VERCEL_API_URL"] = urls["vercel"]
    env["SMOKEGATE_SUPABASE_API_URL"] = urls["supabase"]
    env["SMOKEGATE_STRIPE_API_URL"] = urls["stripe"]
    for name in ORIGINS:
        path = "/current" if name == "stripe" else "/api/v2/summary.json"
        env[f"SMOKEGATE_STATUS_{name.upper()}_URL"] = urls[name] + path
    return env


async def serve(stand_ins: StandIns, bind: Callable[[str, int], Any], make_server: Callable[..., Any],
                ssl_context: Any) -> tuple[dict[str, str], list[Any], list[Any]]:
    """Bind and start one server per origin; returns the URLs, the servers and their serving tasks."""
    import asyncio

    urls, servers, tasks = {}, [], []
    for name in ORIGINS:
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        urls[name] = f"https://127.0.0.1:{port}"
        server = make_server(stand_ins.app(name, urls[name]), port, ssl_context)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
    return urls, servers, tasks
