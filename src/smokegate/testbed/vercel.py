"""Vercel's Deployment Protection in front of the testbed, and a third-party origin that records what it gets.

:class:`DeploymentProtection` is the outermost layer of the public app when protection mode is on
(``--protection`` at start, or the admin API at runtime), as Vercel Authentication is on a preview
deployment: any request without the automation bypass gets Vercel's own 401 login page, before the
app sees it.  The bypass is what Vercel accepts: the ``x-vercel-protection-bypass`` header or query
parameter with the project's secret; with ``x-vercel-set-bypass-cookie: true`` (or ``samesitenone``)
it answers a 307 back to the same URL that sets a host-only ``_vercel_jwt`` cookie, which then
admits the browser on its own.

Other origins of the testbed (``https://127.0.0.1:<port>``: the identity provider, Clerk's Backend
API, a partner widget's API) are watched by :func:`watch_other_origin`: every request reaching them
with the bypass header, the secret or the bypass cookie is recorded as an event, so the self-tests
can prove the suite never hands the secret to another origin.  The ``vercel-bypass-to-third-party``
fault makes the platform itself leak it: the sign-in page's partner widget sends the header, with the
secret, to the partner's API.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smokegate.vercel_protection import HEADER, SET_COOKIE_HEADER, SSO_NONCE_COOKIE

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

BYPASS_COOKIE = "_vercel_jwt"
BYPASS_COOKIE_TTL_S = 3600
WIDGET_PATH = "/widget/v1/session"
LEAK_FAULT = "vercel-bypass-to-third-party"


def _login_page(url: str, nonce: str) -> str:
    sso = "https://vercel.com/sso-api?" + urlencode({"url": url, "nonce": nonce})
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><meta name="robots" content="noindex"/>'
        "<title>Authentication Required</title></head><body>"
        '<main style="font-family:system-ui;text-align:center;margin-top:20vh">'
        "<h1>Authentication Required</h1><p>This deployment is protected by Vercel Authentication.</p>"
        f'<p><a href="{html.escape(sso)}">Log in to Vercel</a></p></main></body></html>'
    )


class ProtectionKeys:
    """The project's bypass secret and the key Vercel signs its bypass cookie with."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or secrets.token_urlsafe(24)
        self._key = OctKey.import_key(secrets.token_bytes(32))

    def accepts(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest((given or "").encode(), self.secret.encode())

    def cookie(self) -> str:
        now = int(time.time())
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, {"bypass": "automation", "iat": now,
                                                          "exp": now + BYPASS_COOKIE_TTL_S}, self._key)

    def cookie_valid(self, value: str | None) -> bool:
        if not value:
            return False
        try:
            claims = jwt.decode(value, self._key, algorithms=["HS256"]).claims
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
        except (JoseError, ValueError):
            return False
        return claims.get("bypass") == "automation"


class DeploymentProtection:
    """Vercel Authentication in front of the app, with Protection Bypass for Automation."""

    def __init__(self, app: ASGIApp, tb: Testbed) -> None:
        self.app = app
        self.tb = tb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tb.state.on(LEAK_FAULT):
            send = self._widget_csp(send)
        if not self.tb.state.protected:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        keys = self.tb.protection
        given = request.headers.get(HEADER) or request.query_params.get(HEADER)
        if keys.accepts(given):
            wanted = request.headers.get(SET_COOKIE_HEADER) or request.query_params.get(SET_COOKIE_HEADER)
            if wanted in ("true", "samesitenone"):
                await self._set_cookie(request, wanted)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if keys.cookie_valid(request.cookies.get(BYPASS_COOKIE)):
            await self.app(scope, receive, send)
            return
        await self._login(request)(scope, receive, send)

    def _set_cookie(self, request: Request, wanted: str) -> Response:
        """Vercel sets the bypass as a cookie with a redirect to the same URL (the bypass parameters dropped)."""
        query = [(k, v) for k, v in request.query_params.multi_items() if k not in (HEADER, SET_COOKIE_HEADER)]
        target = request.url.path + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=307, headers={"cache-control": "no-store, max-age=0",
                                                                       "server": "Vercel"})
        response.set_cookie(BYPASS_COOKIE, self.tb.protection.cookie(), max_age=BYPASS_COOKIE_TTL_S, path="/",
                            secure=True, httponly=True, samesite="none" if wanted == "samesitenone" else "lax")
        return response

    def _login(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(18)
        response = Response(
            _login_page(str(request.url), nonce), status_code=401, media_type="text/html; charset=utf-8",
            headers={"cache-control": "no-store, max-age=0", "server": "Vercel", "x-robots-tag": "noindex",
                     "x-frame-options": "DENY", "x-vercel-id": f"iad1::{secrets.token_hex(6)}"},
        )
        response.set_cookie(SSO_NONCE_COOKIE, nonce, max_age=3600, path="/", secure=True, httponly=True,
                            samesite="lax")
        return response

    def _widget_csp(self, send: Send) -> Send:
        """The leak fault's page: the partner widget's API origin added to the CSP, as one does to embed it."""
        origin = self.tb.other_origin

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and origin:
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-security-policy":
                        value = value.replace(b"connect-src 'self'", b"connect-src 'self' " + origin.encode())
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def leak_widget(tb: Testbed) -> str:
    """The leak fault's partner widget: it calls the partner's API with the bypass header and secret."""
    if not tb.state.on(LEAK_FAULT) or not tb.other_origin:
        return ""
    call = json.dumps(tb.other_origin + WIDGET_PATH)
    headers = json.dumps({HEADER: tb.protection.secret, "content-type": "text/plain"})
    return (f"<script>fetch({call},{{method:\"POST\",mode:\"cors\",headers:{headers},"
            'body:"{\\"page\\":\\"sign-in\\"}"}).catch(function(){});</script>')


def _carries_bypass(tb: Testbed, scope: Scope) -> list[str]:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    secret = tb.protection.secret
    found = []
    if HEADER in headers:
        found.append(f"{HEADER} header")
    if any(secret in value for value in headers.values()) or secret in scope.get("query_string", b"").decode():
        found.append("the bypass secret")
    if f"{BYPASS_COOKIE}=" in headers.get("cookie", ""):
        found.append(f"the {BYPASS_COOKIE} cookie")
    return found


def watch_other_origin(app: ASGIApp, tb: Testbed, host: str) -> ASGIApp:
    """Record every request to ``host`` (another origin than the app) that carries the bypass, and
    serve the partner widget's API there (CORS open, as a partner API is)."""
    host_bytes = host.encode()

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request_host = dict(scope.get("headers") or []).get(b"host", b"")
            if request_host.rsplit(b":", 1)[0] == host_bytes:
                found = _carries_bypass(tb, scope)
                if found:
                    tb.state.record("bypass-seen-by-other-origin", path=scope["path"], carried=found)
                if scope["path"] == WIDGET_PATH:
                    await _widget_api(scope, receive, send)
                    return
        await app(scope, receive, send)

    return route


async def _widget_api(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    cors = {"access-control-allow-origin": request.headers.get("origin", "*"),
            "access-control-allow-methods": "POST, OPTIONS",
            "access-control-allow-headers": request.headers.get("access-control-request-headers", "content-type"),
            "access-control-max-age": "600", "vary": "Origin"}
    if request.method == "OPTIONS":
        await Response(status_code=204, headers=cors)(scope, receive, send)
        return
    await JSONResponse({"ok": True, "session": quote(secrets.token_hex(8))}, headers=cors)(scope, receive, send)
