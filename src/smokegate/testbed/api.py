"""The platform's API routes: health, public plans and status, and the signed-in user."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smokegate.testbed.context import Testbed
from smokegate.testbed.fake_secrets import DATABASE_URL
from smokegate.testbed.site import PLANS

NO_STORE = {"cache-control": "no-store, max-age=0"}
STARTED = time.monotonic()


def health_body(tb: Testbed) -> tuple[int, dict[str, Any]]:
    state = tb.state
    checks: dict[str, dict[str, Any]] = {
        "database": {"status": "ok", "latency_ms": 300 if state.on("health-db-slow") else 12},
        "auth": {"status": "ok", "latency_ms": 41},
        "ai": {"status": "ok", "latency_ms": 186},
        "payments": {"status": "ok", "latency_ms": 63},
    }
    if state.on("db-url-in-health"):
        # The route dumps its database client's settings, connection string and password included.
        checks["database"]["url"] = DATABASE_URL
    if state.on("health-db-down"):
        checks["database"] = {"status": "error", "latency_ms": None, "error": "connection timeout"}
    healthy = all(c["status"] == "ok" for c in checks.values())
    version = "0b7e5d3c2a1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d" if state.on("wrong-version") else state.version
    # The function's resident memory against its configured limit (Vercel's default 1024 MB).
    used_mb = 912 if state.on("health-memory-high") else 212
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "version": version,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "uptime_s": round(time.monotonic() - STARTED),
        "memory": {"used_mb": used_mb, "limit_mb": 1024},
        "checks": checks,
    }
    return (200 if healthy else 503), body


# The health-static fault: /api/health was rendered once at build time, this long before the tests.
BUILT_AGO_S = 5400


def _prerendered_health(tb: Testbed) -> Response:
    """What Vercel serves for a route handler Next.js prerendered at build time: the build's answer."""
    status, body = health_body(tb)
    built = datetime.now(UTC) - timedelta(seconds=BUILT_AGO_S)
    body.update(timestamp=built.isoformat(timespec="seconds"), uptime_s=0)
    # Vercel turns the route's s-maxage into max-age=0 for browsers and answers from its cache.
    headers = {"cache-control": "public, max-age=0, must-revalidate", "x-vercel-cache": "HIT",
               "age": str(BUILT_AGO_S), "x-nextjs-prerender": "1"}
    return JSONResponse(body, status_code=status, headers=headers)


def routes(tb: Testbed) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        if tb.state.on("health-slow"):
            await asyncio.sleep(0.8)
        if tb.state.on("health-static"):
            return _prerendered_health(tb)
        status, body = health_body(tb)
        if tb.state.on("health-invalid-json"):
            # The route streams its JSON and dies half-way: the edge still delivers a 200.
            text = json.dumps(body)
            return Response(text[: len(text) // 2], status_code=200, media_type="application/json",
                            headers={**NO_STORE, "x-vercel-cache": "MISS"})
        # A dynamic route handler: Vercel's cache is asked and misses.
        return JSONResponse(body, status_code=status, headers={**NO_STORE, "x-vercel-cache": "MISS"})

    async def plans(request: Request) -> Response:
        if tb.state.on("api-slow"):
            await asyncio.sleep(0.8)
        if tb.state.on("api-error"):
            return JSONResponse({"error": "Internal Server Error"}, status_code=500, headers=NO_STORE)
        data = [
            {"name": name, "price": price, "description": blurb, "interval": "month"}
            for name, price, blurb in PLANS
        ]
        return JSONResponse(
            {"plans": data}, headers={"cache-control": "public, s-maxage=300, stale-while-revalidate=60"}
        )

    async def status(request: Request) -> Response:
        code, body = health_body(tb)
        return JSONResponse(
            {"status": "operational" if code == 200 else "degraded", "updated_at": body["timestamp"]},
            headers={"cache-control": "public, s-maxage=30"},
        )

    async def user(request: Request) -> Response:
        current = tb.current_user(request)
        if current is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401, headers=NO_STORE)
        if tb.state.on("signed-in-api-500"):
            # Only signed-in users reach the failing query: signed-out checks still see their 401.
            return JSONResponse({"error": "Internal Server Error"}, status_code=500, headers=NO_STORE)
        return JSONResponse(
            {"id": current["sub"], "name": current.get("name"), "email": current.get("email")},
            headers=NO_STORE,
        )

    return [
        Route("/api/health", health),
        Route("/api/plans", plans),
        Route("/api/status", status),
        Route("/api/user", user),
    ]
