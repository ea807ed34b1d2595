"""Name-based virtual hosts on the testbed's one HTTPS listener.

The testbed serves the site, the identity providers and Clerk's Backend API from one port; like a
real deployment, which host a request names decides which of them answers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def by_host(app: ASGIApp, host: str, served: ASGIApp, path_prefix: str = "/") -> ASGIApp:
    """Requests for ``host`` (any port) under ``path_prefix`` go to ``served``; everything else to ``app``."""
    host_bytes = host.encode()

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(path_prefix):
            request_host = dict(scope.get("headers") or []).get(b"host", b"")
            if request_host.rsplit(b":", 1)[0] == host_bytes:
                await served(scope, receive, send)
                return
        await app(scope, receive, send)

    return route
