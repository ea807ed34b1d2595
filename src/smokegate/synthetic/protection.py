"""Vercel's Deployment Protection in the browser: a host-only cookie, never a header on the browser's requests.

A header added to the browser's requests travels further than it should: Playwright's
``extraHTTPHeaders`` go to every origin, and a header added by ``route.continue_`` follows the request
through redirects, to an OAuth provider or a CDN.  So the browser never gets the header.  Once per
worker, one request with the bypass header and ``x-vercel-set-bypass-cookie: true`` asks Vercel for
its bypass cookie (``_vercel_jwt``), and every browser context starts with that cookie: a host-only
cookie that the browser itself sends to the deployment's host and nowhere else.

:func:`bypass_leaks` is what the leak check judges: requests the browser sent to another origin that
carried the bypass header, the secret or the bypass cookie's value (in the URL, a header or the body).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smokegate.config import Target
from smokegate.failures import CheckFailure, FailureKind
from smokegate.scrub import SCRUBBER
from smokegate.vercel import HEADER, SET_COOKIE_HEADER, origin_of, protection_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Vercel names its own cookies _vercel_*; its SSO nonce is no bypass.
VERCEL_COOKIE_PREFIX = "_vercel"
NOT_BYPASS = ("_vercel_sso_nonce",)


def bypass_cookies(browser: Browser, context_args: dict[str, Any], target: Target,
                   on_request: Callable[[], None]) -> list[dict[str, Any]]:
    """Vercel's bypass cookie for the target, for every browser context (empty without a secret)."""
    bypass = target.bypass()
    if bypass is None:
        return []
    url = target.url(target.health.path)
    timeout = target.timeout_s * 1000
    context = browser.new_context(**context_args)
    try:
        # One request with the header, through the context's own client: what it sets lands in its jar.
        context.request.get(url, headers={HEADER: bypass.secret, SET_COOKIE_HEADER: "true"},
                            max_redirects=0, timeout=timeout)
        on_request()
        cookies = [c for c in context.cookies(target.base_url)
                   if c["name"].startswith(VERCEL_COOKIE_PREFIX) and c["name"] not in NOT_BYPASS]
        if not cookies:
            # No cookie: right for an unprotected deployment; find out whether this one is.
            plain = context.request.get(url, max_redirects=0, timeout=timeout)
            on_request()
            protection = protection_of(plain.status, plain.headers, plain.text())
            if protection:
                raise CheckFailure(FailureKind.TEST_SETUP, (
                    f"the deployment is protected by Vercel Deployment Protection ({protection}) and accepted the "
                    f"bypass secret from {bypass.env}, but set no bypass cookie when asked ({SET_COOKIE_HEADER}): "
                    "the browser cannot pass the protection"))
    finally:
        context.close()
    SCRUBBER.add(*(c["value"] for c in cookies), name="vercel bypass cookie")
    return [dict(c) for c in cookies]


@dataclass(frozen=True)
class SentRequest:
    """What the browser sent: the URL, the headers it set and the body."""

    url: str
    headers: dict[str, str]
    body: str | None = None


def bypass_leaks(sent: Iterable[SentRequest], app_origin: str, secret: str | None,
                 cookie_values: Iterable[str] = ()) -> list[str]:
    """Requests to another origin than the app's that carried the bypass header, the secret or the cookie."""
    values = [("the bypass secret", secret)] if secret else []
    values += [("the bypass cookie's value", v) for v in cookie_values if v]
    app = origin_of(app_origin)
    found = []
    for request in sent:
        if origin_of(request.url) == app:
            continue
        carried = []
        if any(name.lower() == HEADER for name in request.headers):
            carried.append(f"the {HEADER} header")
        for label, value in values:
            places = [where for where, text in (("URL", request.url), ("body", request.body or ""),
                                                ("headers", " ".join(request.headers.values()))) if value in text]
            if places:
                carried.append(f"{label} (in its {', '.join(places)})")
        if carried:
            parts = request.url.split("?", 1)[0]
            found.append(f"{parts}: {'; '.join(dict.fromkeys(carried))}")
    return found
