"""Open redirects (ops guide: "Authentication"): sign-in and sign-out return URLs never leave the site.

Safe: GET only, one request per kind of off-site value (every return parameter at once; the list and
its sources are in ``smokegate.checks.redirects``), a few same-origin hops followed, and one request per
parameter to name the one that let it through.  Where an answer leads is resolved as a browser resolves
it (WHATWG URL), never by the HTTP library.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from smokegate.checks import redirects, urls
from smokegate.config import Target
from smokegate.plugin.security_fixtures import fresh
from smokegate.probe import Probe
from smokegate.security.config import ReturnRoute, SecurityConfig

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]

MAX_HOPS = 3


def _lands_off_site(probe: Probe, target: Target, path: str, query: dict[str, str]) -> str | None:
    """Where the browser ends up off-site (on the probe's hostile host), following same-origin hops."""
    url = target.url(path) + "?" + urlencode(query)
    origin = urls.origin(target.base_url)
    for _ in range(MAX_HOPS):
        answer = fresh(probe).get(url, headers={"accept": "text/html"})
        hop = redirects.next_hop(url, answer.status, answer.headers, answer.text)
        if hop is None:
            return None
        if redirects.lands_on(hop):
            return hop
        if urls.origin(hop) != origin:
            return None  # handed to another origin (an identity provider) that validates it itself
        url = hop
    return None


@pytest.mark.check(severity="high", feature="open-redirect")
def test_return_url_stays_on_site(
    security_probe: Probe, target: Target, return_route: ReturnRoute, security: SecurityConfig, check_record: Any
) -> None:
    params = security.return_params
    landed: dict[str, str] = {}
    for trick, value in redirects.hostile_values(target.host).items():
        where = _lands_off_site(security_probe, target, return_route.path, dict.fromkeys(params, value))
        if where is not None:
            landed[trick] = where
    check_record.detail("off_site", landed)
    if not landed:
        return
    # Name the parameter(s) that let the first one through: one request each.
    trick = next(iter(landed))
    value = redirects.hostile_values(target.host)[trick]
    which = [p for p in params if _lands_off_site(security_probe, target, return_route.path, {p: value})]
    values = redirects.hostile_values(target.host)
    shown = "; ".join(f"{t} {values[t]!r} -> {w}" for t, w in list(landed.items())[:4]) + (
        f"; and {len(landed) - 4} more tricks" if len(landed) > 4 else "")
    pytest.fail(
        f"GET {return_route.path} is an open redirect via {', '.join(which) or 'its return parameters'}: {shown}. "
        "Only same-site paths may be return URLs (a phishing page would open right after sign-in or sign-out)",
        pytrace=False,
    )
