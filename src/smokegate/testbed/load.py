"""Faults that only show under load: the testbed holds its normal traffic and breaks at ten times it.

Both act on the requests that reach the platform's database: its API routes (the public APIs, health,
and the signed-in API for a signed-in user).  Pages are served from Vercel's cache (rendered ahead,
revalidated in the background), the AI route waits on the model provider and holds no connection
meanwhile, a signed-out request to a signed-in route is refused by the auth middleware before any
query, and static files and Clerk's Frontend API (its own servers, behind the app's proxy) never
touch it.  Nothing depends on who sends the requests: only on how many are in flight, or arrived, at
once.  With the local target's mix, four routes of nine query the database: about 3 requests a second
of its 7 at 1x, 31 of its 70 at 10x.

``load-pool-exhausted``
    The database pool of a serverless deployment set to ``connection_limit=2``: each request holds a
    connection for its 100 ms query.  Above two in flight, requests wait for a connection, and after
    the pool timeout (1 s, Prisma's ``pool_timeout``) answer 503.  Its capacity is about 20 queries a
    second: the local target's 1x holds, 10x does not.

``load-degrades``
    A database that slows with the load on it: each query waits 28 ms for every query a second it
    received over the last 5 s.  About 90 ms at the local target's 1x, 870 ms at its 10x; no errors,
    only latency, growing step by step.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

POOL_FAULT = "load-pool-exhausted"
DEGRADE_FAULT = "load-degrades"
POOL_SIZE = 2
QUERY_S = 0.1
POOL_TIMEOUT_S = 1.0
DEGRADE_S_PER_RPS = 0.028
# The load the upstream feels: the arrival rate over the last few seconds (a database's queue drains over
# seconds; one second's burst does not make it ten times slower).
DEGRADE_WINDOW_S = 5.0
# Routes that answer a signed-out request before any query (Clerk's middleware, then the handler's auth()).
SIGNED_IN_ROUTES = ("/api/user",)
# The API routes that do not wait on the database: the AI route waits on the model provider.
NO_DATABASE = ("/api/ai/",)


def _signed_in(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.startswith(b"Bearer "):
            return True
        if name == b"cookie" and b"__session=" in value:
            return True
    return False


def queries_database(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if not path.startswith("/api/") or path.startswith(NO_DATABASE):
        return False
    return not (path in SIGNED_IN_ROUTES and not _signed_in(scope))


class LoadFaults:
    """The two load faults, around the platform's routes (inside the edge, which still adds its headers)."""

    def __init__(self, app: ASGIApp, tb: Testbed) -> None:
        self.app = app
        self.tb = tb
        self.pool = asyncio.Semaphore(POOL_SIZE)
        self.arrivals: deque[float] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        on = self.tb.state.on
        if scope["type"] != "http" or not (on(POOL_FAULT) or on(DEGRADE_FAULT)) or not queries_database(scope):
            await self.app(scope, receive, send)
            return
        if on(DEGRADE_FAULT):
            now = time.monotonic()
            while self.arrivals and self.arrivals[0] < now - DEGRADE_WINDOW_S:
                self.arrivals.popleft()
            rate = len(self.arrivals) / DEGRADE_WINDOW_S
            self.arrivals.append(now)
            await asyncio.sleep(DEGRADE_S_PER_RPS * rate)
        if on(POOL_FAULT):
            try:
                await asyncio.wait_for(self.pool.acquire(), POOL_TIMEOUT_S)
            except TimeoutError:
                answer = JSONResponse({"error": "Service Unavailable",
                                       "detail": "Timed out fetching a new connection from the connection pool"},
                                      status_code=503, headers={"cache-control": "no-store", "retry-after": "1"})
                await answer(scope, receive, send)
                return
            try:
                await asyncio.sleep(QUERY_S)
            finally:
                self.pool.release()
        await self.app(scope, receive, send)
