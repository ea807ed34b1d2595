"""Vercel's Deployment Protection in the browser: a host-only cookie, never a header on the browser's requests.

A header added to the browser's requests travels further than it should: Playwright's
``extraHTTPHeaders`` go to every origin, and a header added by ``route.continue_`` follows the request
through redirects, to an OAuth provider or a CDN.  So the browser never gets the header.  Once per
worker, one request with the bypass header and ``x-vercel-set-bypass-cookie: true`` asks Vercel for
its bypass cookie (``_vercel_jwt``), and every browser context starts with that cookie: a host-only
cookie that the browser itself sends to the deployment's host and nowhere else.  The request goes
through the run's own HTTP client (:class:`~smokegate.probe.Probe`: its timeouts, its one retry of a
request the network cut), redirects unfollowed; :func:`browser_cookies` stores the answer's
``Set-Cookie`` as a browser's cookie jar does (RFC 6265), in the form Playwright takes.

:func:`bypass_leaks` is what the leak check judges: requests the browser sent to another origin that
carried the bypass header, the secret or the bypass cookie's value (in the URL, a header or the body).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from smokegate.checks.cookies import parse_set_cookie
from smokegate.config import Target
from smokegate.failures import CheckFailure, FailureKind
from smokegate.scrub import SCRUBBER
from smokegate.vercel_protection import HEADER, SET_COOKIE_HEADER, origin_of, protection_of

if TYPE_CHECKING:
    from smokegate.probe import Probe

# Vercel names its own cookies _vercel_*; its SSO nonce is no bypass.
VERCEL_COOKIE_PREFIX = "_vercel"
NOT_BYPASS = ("_vercel_sso_nonce",)


def bypass_cookies(probe: Probe, target: Target) -> list[dict[str, Any]]:
    """Vercel's bypass cookie for the target, for every browser context (empty without a secret)."""
    bypass = target.bypass()
    if bypass is None:
        return []
    path = target.health.path
    # The probe adds the bypass header to every request to the target's origin (smokegate.vercel_protection).
    # Its answers as they came (about=None): whether the protection answered is what is read here.
    asked = probe.get(path, headers={SET_COOKIE_HEADER: "true"}, about=None)
    cookies = [c for c in browser_cookies(asked.headers.get_list("set-cookie"), asked.url)
               if c["name"].startswith(VERCEL_COOKIE_PREFIX) and c["name"] not in NOT_BYPASS]
    if not cookies:
        # No cookie: right for an unprotected deployment; find out whether this one is (without the header).
        plain = probe.get(path, extensions={"smokegate_no_bypass": True}, about=None)
        protection = protection_of(plain.status, plain.headers, plain.text)
        if protection:
            raise CheckFailure(FailureKind.TEST_SETUP, (
                f"the deployment is protected by Vercel Deployment Protection ({protection}) and accepted the "
                f"bypass secret from {bypass.env}, but set no bypass cookie when asked ({SET_COOKIE_HEADER}): "
                "the browser cannot pass the protection"))
    SCRUBBER.add(*(c["value"] for c in cookies), name="vercel bypass cookie")
    return cookies


def browser_cookies(set_cookies: Iterable[str], url: str, now: float | None = None) -> list[dict[str, Any]]:
    """The cookies a browser stores from these ``Set-Cookie`` lines of an answer from ``url``, as
    Playwright's ``add_cookies`` takes them (and ``cookies()`` gives them back).

    RFC 6265 section 5: a cookie is host-only unless it names a Domain the host domain-matches (else it
    is rejected); without a Path, its path is the request path's directory; Max-Age wins over
    Expires, and a cookie already expired is not stored.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    now = time.time() if now is None else now
    stored: dict[tuple[str, str, str], dict[str, Any]] = {}
    for line in set_cookies:
        cookie = parse_set_cookie(line)
        if not cookie.name:
            continue  # a browser ignores a line without a cookie name
        domain = (cookie.get("domain") or "").lstrip(".").lower()
        if domain and host != domain and not host.endswith("." + domain):
            continue
        path = cookie.get("path") or ""
        path = path if path.startswith("/") else _default_path(parts.path)
        expires = _expiry(cookie.get("max-age") or "", cookie.get("expires") or "", now)
        if expires is not None and expires <= now:
            continue
        where = "." + domain if domain else host
        stored[(cookie.name, where, path)] = {  # a later line replaces an earlier one
            "name": cookie.name,
            "value": cookie.value,
            "domain": where,
            "path": path,
            "expires": -1 if expires is None else expires,
            "httpOnly": cookie.has("httponly"),
            "secure": cookie.has("secure"),
            "sameSite": _SAME_SITE.get((cookie.get("samesite") or "").lower(), "Lax"),
        }
    return list(stored.values())


# A browser takes SameSite case-insensitively; without it (or with a value it does not know), Lax.
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def _default_path(request_path: str) -> str:
    """RFC 6265 section 5.1.4: the request path up to, not including, its last slash; "/" at the root."""
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rindex("/")]


def _expiry(max_age: str, expires: str, now: float) -> float | None:
    """When the cookie expires (seconds since the epoch), or None for a session cookie."""
    with contextlib.suppress(ValueError):
        return now + max(0, int(max_age))  # zero or less: expired now
    if expires:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            return parsedate_to_datetime(expires).timestamp()
    return None


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
