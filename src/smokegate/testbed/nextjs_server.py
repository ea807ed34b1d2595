"""What ``next start`` itself does in front of the app's routes, and how its own holes look.

- Middleware: the platform's auth check runs in ``middleware.ts`` (signed-out visitors of /dashboard
  go to /sign-in, /api/user answers 401).  The ``middleware-bypass`` fault is Next.js 15.2.2 as
  self-hosted: a request whose ``x-middleware-subrequest`` header names the middleware five times
  (CVE-2025-29927, GHSA-f82v-jwr5-mffw) skips it, and the route renders as if the middleware had let
  the request in (the handler trusts it: its fallback is the demo account).
- The image optimizer (``/_next/image``): parameters validated as Next.js 16 does
  (``next/dist/server/image-optimizer.js``: the url against ``images.remotePatterns`` first, then
  ``w`` against deviceSizes/imageSizes, then ``q`` against ``qualities``), with its error texts.
  The ``image-optimizer-open`` fault is ``remotePatterns: [{hostname: "**"}]``: any host passes, and
  the server fetches it (a host that does not resolve: 500, "upstream response is invalid").
- ``secret-key-in-rsc``: a server component passes the Supabase secret key to a client component as a
  prop; it is serialised into the RSC payload (inline in the HTML, and in the ``RSC: 1`` answer).
- ``next-vulnerable``: the deployment runs Next.js 15.2.2 with the React it bundled; the chunks say so
  where real builds do (``window.next.version``, react-dom's DevTools registration).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smokegate.testbed.context import Testbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.testbed.nextjs import NEXT_VERSION, REACT_VERSION

# next.config's middleware matcher in the app: what the auth middleware guards.
MIDDLEWARE_PATHS = ("/dashboard", "/api/user")
# Next.js 15.x: the middleware is skipped once its name appears this often in x-middleware-subrequest.
MAX_RECURSION_DEPTH = 5
MIDDLEWARE_NAMES = ("middleware", "src/middleware")
# The deployment the next-vulnerable fault runs: Next.js 15.2.2 and the React 19 it was built with.
VULNERABLE_NEXT = "15.2.2"
VULNERABLE_REACT = "19.0.0"
# next.config.js images: Next.js 16's defaults.
DEVICE_SIZES = (640, 750, 828, 1080, 1200, 1920, 2048, 3840)
IMAGE_SIZES = (32, 48, 64, 96, 128, 256, 384)
QUALITIES = (75,)
DEMO_USER = {"sub": "user_2demo", "name": "Demo Executive", "email": "demo@napoleonai.app"}


def skips_middleware(header: str | None) -> bool:
    """Does Next.js 15.2.2 skip the middleware for this ``x-middleware-subrequest`` value?"""
    if not header:
        return False
    parts = header.split(":")
    return any(parts.count(name) >= MAX_RECURSION_DEPTH for name in MIDDLEWARE_NAMES)


def image_error(query: str, open_patterns: bool) -> tuple[int, str] | None:
    """Next.js's answer to ``/_next/image?<query>`` when it is an error (None: the image is served)."""
    params = parse_qs(query)
    urls, widths, qualities = params.get("url", []), params.get("w", []), params.get("q", [])
    if not urls:
        return 400, '"url" parameter is required'
    url = urls[0]
    if url.startswith("//"):
        return 400, '"url" parameter cannot be a protocol-relative URL (//)'
    absolute = not url.startswith("/")
    if absolute:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return 400, '"url" parameter is invalid'
        if not open_patterns:  # remotePatterns: [] (the app's images are all its own)
            return 400, '"url" parameter is not allowed'
    if not widths:
        return 400, '"w" parameter (width) is required'
    if not qualities:
        return 400, '"q" parameter (quality) is required'
    if not widths[0].isdigit() or int(widths[0]) <= 0:
        return 400, '"w" parameter (width) must be an integer greater than 0'
    if not qualities[0].isdigit() or not 1 <= int(qualities[0]) <= 100:
        return 400, '"q" parameter (quality) must be an integer between 1 and 100'
    if int(widths[0]) not in (*DEVICE_SIZES, *IMAGE_SIZES):
        return 400, f'"w" parameter (width) of {widths[0]} is not allowed'
    if int(qualities[0]) not in QUALITIES:
        return 400, f'"q" parameter (quality) of {qualities[0]} is not allowed'
    if absolute:
        # The optimizer fetches the upstream image: a name that does not resolve fails that fetch.
        return 500, '"url" parameter is valid but upstream response is invalid'
    return 404, '"url" parameter is valid but internal response is invalid'


class NextServer:
    """``next start`` around the app: middleware (and its bypass), the image optimizer, the faults above."""

    def __init__(self, app: ASGIApp, tb: Testbed) -> None:
        self.app = app
        self.tb = tb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.tb.state
        path: str = scope["path"]
        if path == "/_next/image" and scope["method"] in ("GET", "HEAD"):
            error = image_error(scope.get("query_string", b"").decode("latin-1"), state.on("image-optimizer-open"))
            status, text = error or (404, "")
            answer = PlainTextResponse(text, status_code=status,
                                       headers={"cache-control": "public, max-age=0, must-revalidate"})
            await answer(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        subrequest = headers.get(b"x-middleware-subrequest", b"").decode("latin-1")
        if state.on("middleware-bypass") and path in MIDDLEWARE_PATHS and skips_middleware(subrequest):
            # The middleware never ran; the route trusts that it did, and its fallback is the demo account.
            session = self.tb.sessions.issue(DEMO_USER)
            cookie = headers.get(b"cookie", b"")
            raw = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
            raw.append((b"cookie", (cookie + b"; " if cookie else b"") + f"__session={session}".encode()))
            scope = {**scope, "headers": raw}
        rewrite = self._rewrite(path, headers)
        await self.app(scope, receive, rewrite(send) if rewrite else send)

    def _rewrite(self, path: str, headers: dict[bytes, bytes]) -> Wrap | None:
        state = self.tb.state
        if state.on("next-vulnerable") and path.startswith("/_next/static/"):
            return Wrap({f'"{NEXT_VERSION}"': f'"{VULNERABLE_NEXT}"', f'"{REACT_VERSION}"': f'"{VULNERABLE_REACT}"'})
        if state.on("secret-key-in-rsc") and path == "/pricing":
            row = json.dumps(["$", "$L3", None, {"supabaseKey": FAKE_SECRETS["SUPABASE_SECRET_KEY"]}])
            if headers.get(b"rsc") == b"1":
                return Wrap(append=f"3:{row}\n")
            push = json.dumps([1, f"3:{row}\n"])
            return Wrap({"</body>": f"<script>self.__next_f.push({push})</script></body>"})
        return None


class Wrap:
    """Rewrites an answer's body on its way out (fixing Content-Length): replacements, or text appended."""

    def __init__(self, replace: dict[str, str] | None = None, append: str = "") -> None:
        self.replace = replace or {}
        self.append = append

    def __call__(self, send: Send) -> Send:
        held: dict[str, object] = {}
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                held["start"] = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            text = b"".join(chunks).decode("utf-8", errors="surrogateescape")
            for old, new in self.replace.items():
                text = text.replace(old, new)
            data = (text + self.append).encode("utf-8", errors="surrogateescape")
            start = dict(held["start"])  # type: ignore[call-overload]
            start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            start["headers"].append((b"content-length", str(len(data)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": data})

        return wrapped
