"""Open redirects: where a browser would go after an answer, and return URLs that try to leave the site.

Sign-in and sign-out routes take a return URL (Clerk's ``redirect_url``, Auth.js's ``callbackUrl``,
``returnTo``, ``next``…).  A validator that only checks ``startsWith("/")`` or the host prefix lets
``//evil``, ``/\\evil``, ``http:evil``, ``https://site@evil`` or ``https://site.evil`` through, and
the user (with a fresh session, or just signed out) lands on a phishing page under the site's name.

Where a browser goes is resolved the way browsers resolve it (WHATWG URL parsing for http(s)):
a backslash counts as a slash, any number of leading slashes start an authority, and a scheme
without slashes (``http:evil``) is an authority unless it is the page's own scheme.  A redirect
counts as open only when the browser would land on the probe's own hostile host: a sign-in route
that hands the return URL on to an identity provider's origin (which validates it) is not one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

HOSTILE_HOST = "smokegate-redirect.evil.example"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.DOTALL)
_SPECIAL = ("http", "https")


def hostile_values(site_host: str, host: str = HOSTILE_HOST) -> dict[str, str]:
    """Return URLs that each defeat a classic validator, by the name of the trick."""
    return {
        "absolute": f"https://{host}/",
        "scheme-relative": f"//{host}/",
        "backslash": f"/\\{host}/",
        "https-without-slashes": f"https:{host}",
        "http-without-slashes": f"http:{host}",
        # Pass a check that the value starts with the site's own origin.
        "userinfo": f"https://{site_host}@{host}/",
        "host-prefix": f"https://{site_host}.{host}/",
    }


def resolve(base: str, reference: str) -> str:
    """The absolute URL a browser navigates to for ``reference`` (a Location, a refresh URL) on ``base``."""
    ref = reference.strip("".join(chr(c) for c in range(0x21)))
    ref = ref.replace("\t", "").replace("\n", "").replace("\r", "")
    base_scheme = urlsplit(base).scheme.lower()
    match = _SCHEME.match(ref)
    if match and match.group(1).lower() in _SPECIAL:
        scheme, rest = match.group(1).lower(), str(match.group(2)).replace("\\", "/")
        if scheme == base_scheme and not rest.startswith("//"):
            return urljoin(base, rest)
        return f"{scheme}://{rest.lstrip('/')}"
    if match:
        return ref  # javascript:, data:, mailto:… are not navigations to an http(s) origin
    ref = ref.replace("\\", "/")
    if ref.startswith("//"):
        return f"{base_scheme}://{ref.lstrip('/')}"
    return urljoin(base, ref)


def lands_on(url: str, host: str = HOSTILE_HOST) -> bool:
    """Whether ``url`` is on ``host`` (or below it)."""
    try:
        found = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return found == host or found.endswith("." + host)


class _Refresh(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.url: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh" and self.url is None:
            match = re.search(r"url\s*=\s*['\"]?([^'\"]*)", values.get("content", ""), re.IGNORECASE)
            if match and match.group(1).strip():
                self.url = match.group(1).strip()


def refresh_url(html: str) -> str | None:
    """The URL of a ``<meta http-equiv="refresh">`` (Next.js's redirect() once streaming started)."""
    parser = _Refresh()
    parser.feed(html[:100000])
    return parser.url


def next_hop(url: str, status: int, headers: Mapping[str, str], text: str) -> str | None:
    """Where a browser goes next from this answer: its Location, or its refresh URL; None to stay."""
    if 300 <= status < 400 and headers.get("location"):
        return resolve(url, headers["location"])
    if 200 <= status < 300 and "html" in headers.get("content-type", ""):
        found = refresh_url(text)
        if found is not None:
            return resolve(url, found)
    return None
