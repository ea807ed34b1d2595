"""The routes of sign-in (testbed/auth.py's service behind them), the AI endpoint and the analytics script.

Apart from :class:`smokegate.testbed.auth.AuthService`, which the testbed holds, because they render the
site's pages (sign-in errors, the 500 page) and the site's module imports the testbed that holds the service.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import time
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from smokegate.testbed.auth import (
    AI_LATENCY_S,
    AI_SLOW_S,
    ANALYTICS_SCRIPT,
    CALLBACK_PATH,
    HEADLINE,
    LCP_SLOW_S,
    NO_STORE,
    PAGE_LOAD_SLOW_S,
    PENDING_COOKIE,
    PENDING_TTL_S,
)
from smokegate.testbed.context import Testbed
from smokegate.testbed.idp import PROVIDERS
from smokegate.testbed.sessions import SESSION_COOKIE
from smokegate.testbed.site import _html, error_page


def _safe_redirect(tb: Testbed, value: str | None) -> str:
    """Only same-origin redirect targets after sign-in (an open redirect would leak the session)."""
    if not value:
        return "/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin != tb.public_origin:
            return "/dashboard"
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return value if value.startswith("/") and not value.startswith("//") else "/dashboard"


def _auth_error(tb: Testbed, request: Request, message: str, status: int = 400) -> Response:
    body = (
        '<main><h1>Sign-in failed</h1><p class="error" role="alert">'
        + html.escape(message)
        + '</p><a href="/sign-in">Back to sign in</a></main>'
    )
    response = _html(tb, request, "/sign-in", "Sign-in failed — Napoleon AI", body, status=status)
    response.headers.update(NO_STORE)
    response.delete_cookie(PENDING_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


def routes(tb: Testbed) -> list[BaseRoute]:
    auth = tb.auth

    async def sign_in_start(request: Request) -> Response:
        provider = request.path_params["provider"]
        if provider not in PROVIDERS:
            return _auth_error(tb, request, "Unknown sign-in method.", status=404)
        pending_id, url = auth.authorize_redirect(
            provider, _safe_redirect(tb, request.query_params.get("redirect_url"))
        )
        response = RedirectResponse(url, status_code=302, headers=NO_STORE)
        response.set_cookie(
            PENDING_COOKIE,
            pending_id,
            max_age=PENDING_TTL_S,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(request: Request) -> Response:
        if tb.state.on("callback-500"):
            return error_page(tb, request, 500)
        params = request.query_params
        if params.get("error"):
            return _auth_error(tb, request, "The provider did not grant access. Please try again.")
        pending = auth.pending.pop(request.cookies.get(PENDING_COOKIE, ""), None)
        if pending is None:
            return _auth_error(tb, request, "This sign-in attempt has expired or was already used. Please start again.")
        given_state = params.get("state", "")
        if not tb.state.on("callback-accepts-tampered-state") and not hmac.compare_digest(
            given_state.encode(), pending.state.encode()
        ):
            tb.state.record("sign-in-rejected", reason="state mismatch", provider=pending.provider)
            return _auth_error(tb, request, "Sign-in could not be verified (state mismatch). Please start again.")
        code = params.get("code", "")
        user = await auth.exchange(pending, code) if code else None
        if user is None:
            tb.state.record("sign-in-rejected", reason="code refused", provider=pending.provider)
            return _auth_error(tb, request, "This sign-in link is no longer valid. Please start again.")
        tb.state.record("sign-in", provider=pending.provider, sub=user.get("sub"))
        if tb.state.on("sign-in-loop"):
            # The session cookie is dropped (as with a misconfigured cookie domain): back to sign-in.
            target = f"/sign-in?redirect_url={pending.redirect_url}"
            response: Response = RedirectResponse(target, status_code=303, headers=NO_STORE)
        else:
            response = RedirectResponse(pending.redirect_url, status_code=303, headers=NO_STORE)
            response.set_cookie(
                SESSION_COOKIE,
                tb.sessions.issue(user),
                max_age=3600,
                path="/",
                secure=True,
                httponly=True,
                samesite="lax",
            )
        response.delete_cookie(PENDING_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return response

    async def sign_out(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            auth.revoke(token)
        response = RedirectResponse("/", status_code=303, headers=NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return response

    async def summarize(request: Request) -> Response:
        user = tb.current_user(request)
        if user is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401, headers=NO_STORE)
        try:
            body = await request.json()
        except ValueError:
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return JSONResponse({"error": "text is required"}, status_code=400, headers=NO_STORE)
        started = time.monotonic()
        await asyncio.sleep(AI_SLOW_S if tb.state.on("ai-slow") else AI_LATENCY_S)
        words = text.split()
        summary = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
        return JSONResponse(
            {
                "summary": summary,
                "model": "gpt-4o-mini",
                "latency_ms": round((time.monotonic() - started) * 1000),
            },
            headers=NO_STORE,
        )

    async def highlights(request: Request) -> Response:
        if tb.state.on("lcp-slow"):
            await asyncio.sleep(LCP_SLOW_S)
        return JSONResponse(
            {"headline": HEADLINE, "banner": "New: Slack huddles are now summarised."}, headers=NO_STORE
        )

    async def analytics(request: Request) -> Response:
        if tb.state.on("script-broken") and urlsplit(request.headers.get("referer", "")).path == "/pricing":
            return Response("Internal Server Error", status_code=500, media_type="text/plain", headers=NO_STORE)
        if tb.state.on("page-load-slow"):
            await asyncio.sleep(PAGE_LOAD_SLOW_S)
        return Response(
            "!function(){window.va=window.va||function(){}}();",
            media_type="application/javascript; charset=utf-8",
            headers={"cache-control": "public, max-age=0, must-revalidate"},
        )

    return [
        Route(CALLBACK_PATH, callback),
        Route("/sign-in/{provider}", sign_in_start),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/api/ai/summarize", summarize, methods=["POST"]),
        Route("/api/highlights", highlights),
        Route(ANALYTICS_SCRIPT, analytics),
    ]
