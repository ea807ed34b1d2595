"""What the platform's Next.js middleware and vercel.json add for security, and its security faults.

:class:`SecurityMiddleware` wraps the whole public app (outside the edge headers) and does what the
real deployment does: a CSP on pages, CORS for the public API routes against an allowlist, a rate
limit on the waitlist route, cookies on pages.  Each fault bends one of these the way real
deployments get it wrong: reflecting any origin, an ``endswith`` origin check, a secret key inlined
into a chunk by a ``NEXT_PUBLIC_`` prefix, source maps shipped, a dev-mode stack trace...
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smokegate.testbed.context import Testbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS, dotenv_file
from smokegate.testbed.nextjs import CHUNK_CACHE_CONTROL, JS_CONTENT_TYPE, content_hash

# Clerk's documented CSP for a Next.js app (clerk.com/docs/security/clerk-csp), no 'unsafe-eval'.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://clerk.napoleonai.app https://challenges.cloudflare.com "
    "https://js.stripe.com",
    "connect-src 'self' https://clerk.napoleonai.app https://napoleon-testbed.supabase.co https://api.stripe.com",
    "img-src 'self' https://img.clerk.com data:",
    "style-src 'self' 'unsafe-inline'",
    "frame-src 'self' https://challenges.cloudflare.com https://js.stripe.com",
    "worker-src 'self' blob:",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "upgrade-insecure-requests",
))
ALLOWED_ORIGINS = frozenset({"https://napoleonai.app", "https://www.napoleonai.app"})
# The cors-www-regex fault's matcher for the www origin: /^https:\/\/www.napoleonai.app/ (no \. nor $).
WWW_ORIGIN_REGEX = re.compile(r"^https://www.napoleonai.app")
CORS_ROUTES = {"/api/plans": "GET, HEAD, OPTIONS", "/api/status": "GET, HEAD, OPTIONS"}
# The waitlist route's limit, as Upstash's fixedWindow(10, "3 s") would enforce it.  10, not more: the burst
# (twice the limit and one) must reach the testbed within one window for its answer to show anything, and on
# a loaded 2-core machine running the self-tests 61 requests took 5.5 s (smokegate.checks.ratelimit.undetermined).
RATE_LIMITED_PATH = "/api/waitlist"
RATE_LIMIT = 10
RATE_WINDOW_S = 3.0
MAX_BODY_BYTES = 65536
# Headers that only exist because vercel.json / next.config.js headers() add them.
CONFIGURED_HEADERS = (
    b"content-security-policy", b"x-frame-options", b"x-content-type-options", b"referrer-policy",
    b"permissions-policy", b"strict-transport-security",
)
NODE_STACK = (
    "SyntaxError: Unexpected token }} in JSON at position {pos}\n"
    "    at JSON.parse (<anonymous>)\n"
    "    at parseJSONFromBytes (node:internal/deps/undici/undici:5584:19)\n"
    "    at successSteps (node:internal/deps/undici/undici:5555:27)\n"
    "    at POST (webpack-internal:///(rsc)/./app/api/waitlist/route.ts:14:32)\n"
    "    at /var/task/node_modules/next/dist/compiled/next-server/app-route.runtime.prod.js:6:37263"
)

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _origin_allowed(tb: Testbed, origin: str) -> bool:
    if tb.state.on("cors-reflect-any"):
        return True
    if origin == "null":
        return tb.state.on("cors-null-allowed")
    if tb.state.on("cors-suffix-match") and origin.endswith("napoleonai.app"):
        # The classic bug: origin.endsWith("napoleonai.app") lets evilnapoleonai.app in.
        return True
    if tb.state.on("cors-www-regex") and WWW_ORIGIN_REGEX.match(origin):
        # The apex is matched exactly, www with a regex missing its escapes and its $ anchor.
        return True
    return origin in ALLOWED_ORIGINS


def _cors_headers(tb: Testbed, path: str, origin: str | None, preflight: bool, scope: Scope) -> list[tuple[str, str]]:
    if tb.state.on("cors-wildcard-credentials") and path == "/api/status":
        # Wildcard plus credentials: browsers refuse it, and it says the policy was never thought through.
        headers = [("access-control-allow-origin", "*"), ("access-control-allow-credentials", "true")]
        if preflight:
            headers.append(("access-control-allow-methods", CORS_ROUTES[path]))
        return headers
    vary = [] if tb.state.on("cors-no-vary") else [("vary", "Origin")]
    if origin is None or not _origin_allowed(tb, origin):
        return vary
    headers = [*vary, ("access-control-allow-origin", origin)]
    if tb.state.on("cors-reflect-any"):
        headers.append(("access-control-allow-credentials", "true"))
        if preflight:
            asked = _header(scope, b"access-control-request-headers") or ""
            headers += [("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"),
                        ("access-control-allow-headers", asked)]
    elif preflight:
        headers += [("access-control-allow-methods", CORS_ROUTES[path]),
                    ("access-control-allow-headers", "content-type"), ("access-control-max-age", "600")]
    return headers


class _Window:
    """A fixed-window counter per client address, its windows aligned on the clock.

    As Upstash's ``fixedWindow`` (the usual limiter of a Next.js app on Vercel) counts: the window is
    ``floor(now / length)``, the same for every client, not one opened by a client's first request.
    So a burst can straddle two windows, whatever came before it.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[str, tuple[int, int]] = {}

    def hit(self, client: str) -> tuple[bool, float]:
        """Whether this request is allowed, and the seconds until its window ends."""
        now = self.clock()
        window = int(now // RATE_WINDOW_S)
        seen, count = self.counts.get(client, (window, 0))
        count = count + 1 if seen == window else 1
        self.counts[client] = (window, count)
        return count <= RATE_LIMIT, (window + 1) * RATE_WINDOW_S - now


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, tb: Testbed) -> None:
        self.app = app
        self.tb = tb
        self.window = _Window()
        self.stuck: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.tb.state
        path: str = scope["path"]
        method: str = scope["method"]
        special = self._special(path, method)
        if special is not None:
            await special(scope, receive, self._decorate(scope, send))
            return
        if not state.on("ratelimit-stuck"):
            self.stuck.clear()
        if path == RATE_LIMITED_PATH and not state.on("ratelimit-off"):
            client = (scope.get("client") or ("?", 0))[0]
            forwarded = _header(scope, b"x-forwarded-for")
            if state.on("ratelimit-xff") and forwarded:
                # The limiter keys on the first X-Forwarded-For entry: the one the client wrote.
                client = forwarded.split(",")[0].strip()
            allowed, reset = self.window.hit(client)
            if client in self.stuck:
                # The limiter's block outlives the Retry-After it announced (a key that never expires).
                allowed, reset = False, RATE_WINDOW_S
            if not allowed:
                if state.on("ratelimit-stuck"):
                    self.stuck.add(client)
                await self._too_many(reset)(scope, receive, self._decorate(scope, send))
                return
        if path in CORS_ROUTES and method == "OPTIONS" and _header(scope, b"origin") is not None:
            # Next.js answers OPTIONS on a route handler itself: 204 with Allow.
            response = Response(status_code=204, headers={"allow": CORS_ROUTES[path]})
            await response(scope, receive, self._decorate(scope, send))
            return
        await self.app(scope, receive, self._decorate(scope, send))

    def _special(self, path: str, method: str) -> Handler | None:
        """Answers the faults replace wholesale; None lets the app answer."""
        state = self.tb.state
        if method not in ("GET", "HEAD"):
            return None
        if path == "/.env" and state.on("dotenv-served"):
            return PlainTextResponse(dotenv_file(), headers={"cache-control": "public, max-age=0"})
        if path == "/api/user" and state.on("protected-api-open"):
            # The auth middleware's matcher forgot /api/user; the handler falls back to a demo account.
            return JSONResponse({"id": "user_2demo", "name": "Demo Executive", "email": "demo@napoleonai.app"})
        if path.startswith("/_next/static/"):
            return self._static(path)
        if path == "/sign-out" and state.on("open-redirect-sign-out"):
            return _sign_out_link
        if path == "/sign-out" and state.on("open-redirect-whitespace"):
            return _sign_out_checked_link
        return None

    def _map_path(self, chunk: str) -> str | None:
        """Where the active source-map fault serves ``chunk``'s map (None: maps are not shipped)."""
        state = self.tb.state
        directory, name = chunk.rsplit("/", 1)
        if state.on("source-map-served"):
            return chunk + ".map"  # webpack: the map beside its chunk, under the same name
        if state.on("source-map-turbopack"):
            # Turbopack content-hashes the map on its own: its name says nothing of the chunk's.
            return f"{directory}/{content_hash('turbopack-map:' + name)}.js.map"
        if state.on("source-map-header"):
            # hidden-source-map (no comment), announced by a SourceMap header and kept elsewhere.
            return f"/_next/static/maps/{content_hash('hidden-map:' + name)}.js.map"
        return None

    def _source_map(self, path: str) -> Handler | None:
        build = self.tb.build
        for chunk in build.files:
            if self._map_path(chunk) == path:
                break
        else:
            return None
        turbopack = self.tb.state.on("source-map-turbopack")
        source = "turbopack:///[project]/app/page.tsx" if turbopack else "webpack://_N_E/./app/page.tsx"
        plain = {"version": 3, "file": chunk.rsplit("/", 1)[-1], "sources": [source],
                 "sourcesContent": ["export default function Page() { /* original source */ }"],
                 "names": [], "mappings": "AAAA"}
        # Turbopack writes index maps: one section per module of the chunk.
        sourcemap = {"version": 3, "sections": [{"offset": {"line": 0, "column": 0}, "map": plain}]} \
            if turbopack else plain
        return JSONResponse(sourcemap, headers={"cache-control": CHUNK_CACHE_CONTROL})

    def _static(self, path: str) -> Handler | None:
        state = self.tb.state
        build = self.tb.build
        if path.endswith(".map"):
            return self._source_map(path)
        text = build.files.get(path)
        if text is None:
            return None
        changed = text
        headers = {"cache-control": CHUNK_CACHE_CONTROL}
        if state.on("secret-in-chunk") and "e.exports={env:" in text:
            # Someone renamed STRIPE_SECRET_KEY to NEXT_PUBLIC_STRIPE_SECRET_KEY: Next.js inlines it.
            secret = FAKE_SECRETS["STRIPE_SECRET_KEY"]
            inlined = f'e.exports={{env:{{"NEXT_PUBLIC_STRIPE_SECRET_KEY":"{secret}",'
            changed = changed.replace("e.exports={env:{", inlined)
        map_path = self._map_path(path)
        if map_path is not None and state.on("source-map-header"):
            headers["sourcemap"] = map_path
        elif map_path is not None:
            # Both bundlers end a chunk with the comment, naming the map relative to the chunk.
            changed += f"\n//# sourceMappingURL={map_path.rsplit('/', 1)[-1]}"
        if changed == text and len(headers) == 1:
            return None
        return Response(changed, media_type=JS_CONTENT_TYPE, headers=headers)

    def _too_many(self, reset: float) -> Response:
        seconds = max(1, math.ceil(reset))
        headers = {"cache-control": "no-store"}
        if not self.tb.state.on("ratelimit-no-retry-after"):
            headers.update({
                "retry-after": str(seconds),
                "ratelimit-policy": f"{RATE_LIMIT};w={int(RATE_WINDOW_S)}",
                "ratelimit": f"limit={RATE_LIMIT}, remaining=0, reset={seconds}",
            })
        return JSONResponse({"error": "Too Many Requests"}, status_code=429, headers=headers)

    def _decorate(self, scope: Scope, send: Send) -> Send:
        """Adjust every answer on its way out: headers, cookies, CORS, and the body faults."""
        tb = self.tb
        state = tb.state
        path: str = scope["path"]
        method: str = scope["method"]
        origin = _header(scope, b"origin")
        inject = state.on("service-role-in-html") and path == "/" and method == "GET"
        is_html = False
        held: dict[str, Any] = {}

        async def wrapped(message: Message) -> None:
            nonlocal is_html
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])]
                names = {k.lower() for k, _ in headers}
                is_html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if is_html and not state.on("csp-missing") and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                if is_html and method == "GET":
                    headers += [(b"set-cookie", c.encode()) for c in self._cookies()]
                if state.on("x-powered-by"):
                    headers.append((b"x-powered-by", b"Next.js"))
                if path in CORS_ROUTES:
                    preflight = method == "OPTIONS"
                    for name, value in _cors_headers(tb, path, origin, preflight, scope):
                        headers.append((name.encode(), value.encode()))
                if state.on("headers-lost"):
                    dropped = (*CONFIGURED_HEADERS, b"server")
                    headers = [(k, v) for k, v in headers if k.lower() not in dropped]
                    headers.append((b"server", b"nginx/1.25.3"))
                elif state.on("no-hsts"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"strict-transport-security"]
                message = {**message, "headers": headers}
                if inject and is_html:
                    held["start"] = message
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                held.setdefault("body", []).append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(held["body"]).decode()
                body = body.replace("</head>", self._supabase_script() + "</head>", 1)
                data = body.encode()
                start = held.pop("start")
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start["headers"].append((b"content-length", str(len(data)).encode()))
                await send(start)
                await send({"type": "http.response.body", "body": data})
                return
            await send(message)

        return wrapped

    def _cookies(self) -> list[str]:
        state = self.tb.state
        sid = secrets.token_urlsafe(18)
        session = f"napoleon_sid={sid}; Path=/; Max-Age=1800"
        if not state.on("cookie-insecure"):
            session += "; Secure; HttpOnly"
        if not state.on("cookie-no-samesite"):
            session += "; SameSite=Lax"
        csrf = f"__Host-napoleon_csrf={secrets.token_urlsafe(24)}; Path=/; Secure; HttpOnly; SameSite=Lax"
        if state.on("host-cookie-domain"):
            csrf += "; Domain=localhost"
        # Clerk's client-uat cookie is script-readable by design (allowlisted in the config).
        return [session, csrf, "__client_uat=0; Path=/; Max-Age=315360000; Secure; SameSite=Lax"]

    def _supabase_script(self) -> str:
        # The service-role key pasted where the anon key belongs: it bypasses every RLS policy.
        env = {"SUPABASE_URL": "https://napoleon-testbed.supabase.co",
               "SUPABASE_KEY": FAKE_SECRETS["SUPABASE_SERVICE_ROLE_KEY"]}
        return f"<script>window.__SUPABASE__={json.dumps(env)}</script>"


# The return-URL parameters the open-redirect-sign-out fault's handler reads (Clerk's, Auth.js's…).
RETURN_PARAMS = ("redirect_url", "redirect_uri", "returnTo", "next", "callbackUrl")


async def _sign_out_link(scope: Scope, receive: Receive, send: Send) -> None:
    """A GET sign-out (for a link in an email) that trusts any return URL starting with "/"."""
    request = Request(scope, receive)
    target = next((request.query_params[p] for p in RETURN_PARAMS if p in request.query_params), "/")
    if not target.startswith("/"):
        target = "/"  # absolute URLs are refused, but //host and /\host start with "/" as well
    # The raw value, as NextResponse.redirect(new URL(target, request.url)) resolves it.
    location = urljoin(str(request.url), target.replace("\\", "/"))
    response = Response(status_code=303, headers={"location": location, "cache-control": "no-store"})
    response.delete_cookie("__session", path="/", secure=True, httponly=True, samesite="lax")
    await response(scope, receive, send)


async def _sign_out_checked_link(scope: Scope, receive: Receive, send: Send) -> None:
    """A GET sign-out whose validator refuses ``//host``, ``/\\host`` and absolute URLs, then resolves the
    value as ``NextResponse.redirect(new URL(target, request.url))`` does: the WHATWG parser drops tabs
    and newlines, so ``/<TAB>/host`` (``%09`` in the link) passed the check as a path and leaves the site."""
    import ada_url

    request = Request(scope, receive)
    target = next((request.query_params[p] for p in RETURN_PARAMS if p in request.query_params), "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    location = ada_url.join_url(str(request.url), target)
    response = Response(status_code=303, headers={"location": location, "cache-control": "no-store"})
    response.delete_cookie("__session", path="/", secure=True, httponly=True, samesite="lax")
    await response(scope, receive, send)


def _dev_stack(message: str) -> str:
    return f"{message}\n" + "\n".join(NODE_STACK.splitlines()[2:])


def routes(tb: Testbed) -> list[BaseRoute]:
    async def waitlist(request: Request) -> Response:
        """POST /api/waitlist {email, name?}: validated like a zod schema in a route handler."""
        state = tb.state
        validating = not state.on("input-validation-missing")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if validating and content_type != "application/json":
            return JSONResponse({"error": "Content-Type must be application/json"}, status_code=415)
        declared = request.headers.get("content-length", "0")
        if validating and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"error": "Payload Too Large"}, status_code=413)
        raw = await request.body()
        if validating and len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"error": "Payload Too Large"}, status_code=413)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            if state.on("stack-trace-malformed-json") or state.on("dev-mode-errors"):
                stack = NODE_STACK.format(pos=getattr(exc, "pos", 0))
                return PlainTextResponse(stack, status_code=500)
            return JSONResponse({"error": "Invalid JSON body"}, status_code=400)
        if not validating:
            # No schema: the handler trusts the shape and crashes on the first wrong type.
            email = body.get("email") if isinstance(body, dict) else None
            if not isinstance(email, str):
                return JSONResponse({"error": "TypeError: email.toLowerCase is not a function"}, status_code=500)
            return JSONResponse({"ok": True}, status_code=201)
        issues = []
        if not isinstance(body, dict):
            issues.append({"path": [], "message": "Expected object"})
        else:
            email, name = body.get("email"), body.get("name")
            if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                issues.append({"path": ["email"], "message": "Invalid email"})
            if name is not None and (not isinstance(name, str) or len(name) > 100):
                issues.append({"path": ["name"], "message": "Expected string, at most 100 characters"})
        if issues:
            return JSONResponse({"error": "Invalid input", "issues": issues}, status_code=422)
        return JSONResponse({"ok": True}, status_code=201, headers={"cache-control": "no-store"})

    return [Route(RATE_LIMITED_PATH, waitlist, methods=["POST"])]


def dev_error(status: int, message: str) -> Response:
    """A development build's error answer: the message and the stack, as ``next dev`` shows them."""
    return PlainTextResponse(_dev_stack(message), status_code=status)
