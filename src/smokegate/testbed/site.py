"""The platform's pages as Next.js serves them: landing, pricing, sign-in, dashboard, 404, chunks."""

from __future__ import annotations

import asyncio
import html
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from smokegate.testbed.context import Testbed
from smokegate.testbed.nextjs import CHUNK_CACHE_CONTROL, JS_CONTENT_TYPE

PAGE_CACHE_CONTROL = "public, max-age=0, must-revalidate"
DYNAMIC_CACHE_CONTROL = "private, no-cache, no-store, max-age=0, must-revalidate"
RSC_CONTENT_TYPE = "text/x-component"

PLANS = (
    ("Assistant", "$29", "Smart triage for one inbox"),
    ("Executive plan", "$99", "Priority briefings across email, Slack and Teams"),
    ("Chief of Staff", "$249", "Delegation, drafting and analytics for your team"),
)


def _nav() -> str:
    return (
        '<header class="flex items-center justify-between p-6"><a href="/" class="font-semibold">'
        'Napoleon AI</a><nav><a href="/pricing">Pricing</a> <a href="/sign-in">Sign in</a></nav></header>'
    )


def _html(
    tb: Testbed, request: Request, route: str, title: str, body: str, status: int = 200, **kwargs: object
) -> Response:
    if request.headers.get("rsc") == "1":
        return Response(
            tb.build.rsc_payload(route, title),
            status_code=status,
            media_type=RSC_CONTENT_TYPE,
            headers={"vary": "RSC, Next-Router-State-Tree, Next-Router-Prefetch"},
        )
    kwargs.setdefault("extra_scripts", tb.auth.page_scripts(route))  # synthetic page faults (testbed/auth.py)
    # Next.js writes metadataBase (NEXT_PUBLIC_APP_URL) into canonical and social links.
    app_url = "http://localhost:3000" if tb.state.on("app-url-localhost") else str(request.base_url).rstrip("/")
    kwargs["extra_head"] = (f'<link rel="canonical" href="{app_url}{route}"/>'
                            f'<meta property="og:url" content="{app_url}{route}"/>{kwargs.get("extra_head", "")}')
    document = tb.build.document(route, title, _nav() + body, **kwargs)  # type: ignore[arg-type]
    cache = PAGE_CACHE_CONTROL if status == 200 else DYNAMIC_CACHE_CONTROL
    return HTMLResponse(
        document,
        status_code=status,
        headers={"cache-control": cache, "vary": "RSC, Next-Router-State-Tree, Next-Router-Prefetch"},
    )


def error_page(tb: Testbed, request: Request, status: int) -> Response:
    """Next.js's built-in error pages, as a production build renders them."""
    if status == 404:
        body = (
            '<div style="font-family:system-ui;height:100vh;text-align:center;display:flex;'
            'flex-direction:column;align-items:center;justify-content:center">'
            '<h1 class="next-error-h1">404</h1><h2>This page could not be found.</h2></div>'
        )
        return _html(
            tb, request, "/_not-found", "404: This page could not be found.", body, status=404,
            extra_head='<meta name="robots" content="noindex"/>',
        )
    body = (
        '<div style="font-family:system-ui;text-align:center"><h2>Application error: a server-side '
        "exception has occurred (see the server logs for more information).</h2>"
        f"<p>Digest: {abs(hash(request.url.path)) % 10**10}</p></div>"
    )
    return _html(tb, request, "/_not-found", "500: Internal Server Error.", body, status=status)


def routes(tb: Testbed) -> list[BaseRoute]:
    async def landing(request: Request) -> Response:
        body = (
            '<main><h1>Napoleon AI</h1><p>Your executive inbox, handled by AI.</p>'
            '<p>Napoleon triages email, Slack and Teams so you only see what matters.</p>'
            '<a href="/sign-in" class="btn">Get started</a></main>'
        )
        return _html(tb, request, "/", "Napoleon AI — your executive inbox, handled", body)

    async def pricing(request: Request) -> Response:
        if tb.state.on("page-slow"):
            await asyncio.sleep(2.5)
        if tb.state.on("page-500"):
            return error_page(tb, request, 500)
        plans = "".join(
            f'<section class="plan"><h3>{html.escape(name)}</h3><p class="price">{price}/mo</p>'
            f"<p>{html.escape(blurb)}</p></section>"
            for name, price, blurb in PLANS
        )
        if tb.state.on("page-text-missing"):
            plans = '<div class="plans" data-state="error"></div>'
        body = f"<main><h1>Simple, transparent pricing</h1>{plans}</main>"
        return _html(tb, request, "/pricing", "Pricing — Napoleon AI", body)

    async def sign_in(request: Request) -> Response:
        body = "<main><h1>Sign in to Napoleon AI</h1>" + tb.sign_in_buttons(request) + "</main>"
        response = _html(tb, request, "/sign-in", "Sign in — Napoleon AI", body)
        response.headers["cache-control"] = DYNAMIC_CACHE_CONTROL
        return response

    async def dashboard(request: Request) -> Response:
        user = tb.current_user(request)
        if user is None and tb.state.on("dashboard-public"):
            user = {"name": ""}  # the route lost its auth guard: the dashboard renders for anyone
        if user is None:
            target = quote(str(request.url), safe="")
            return RedirectResponse(f"/sign-in?redirect_url={target}", status_code=307)
        body = (
            f'<main><h1>Good morning, <span data-testid="user-name">{html.escape(user.get("name", ""))}'
            "</span></h1><p>3 priority messages need you today.</p>"
            '<form method="post" action="/sign-out"><button type="submit">Sign out</button></form></main>'
        )
        response = _html(tb, request, "/dashboard", "Dashboard — Napoleon AI", body)
        response.headers["cache-control"] = DYNAMIC_CACHE_CONTROL
        return response

    async def static_file(request: Request) -> Response:
        path = request.url.path
        text = tb.build.files.get(path)
        if text is None or (tb.state.on("chunk-broken") and path == tb.broken_chunk()):
            return PlainTextResponse("Not Found", status_code=404, headers={"cache-control": DYNAMIC_CACHE_CONTROL})
        return Response(text, media_type=JS_CONTENT_TYPE, headers={"cache-control": CHUNK_CACHE_CONTROL})

    async def favicon(request: Request) -> Response:
        return Response(b"\x00\x00\x01\x00", media_type="image/x-icon", headers={"cache-control": PAGE_CACHE_CONTROL})

    return [
        Route("/", landing),
        Route("/pricing", pricing),
        Route("/sign-in", sign_in),
        Route("/dashboard", dashboard),
        Route("/favicon.ico", favicon),
        Route("/_next/static/{rest:path}", static_file),
    ]
