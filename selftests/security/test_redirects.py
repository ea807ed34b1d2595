"""Unit tests of smokegate.checks.redirects: where a browser goes, resolved as browsers resolve it."""

from __future__ import annotations

import httpx
import pytest

from smokegate.checks.redirects import HOSTILE_HOST, hostile_values, lands_on, next_hop, refresh_url, resolve

BASE = "https://napoleonai.app/sign-out?redirect_url=x"
EVIL = f"https://{HOSTILE_HOST}/"


@pytest.mark.parametrize(("location", "lands"), [
    (f"https://{HOSTILE_HOST}/", True),
    (f"//{HOSTILE_HOST}/", True),
    (f"/\\{HOSTILE_HOST}/", True),            # a backslash is a slash to a browser
    (f"\\\\{HOSTILE_HOST}", True),
    (f"///{HOSTILE_HOST}/", True),            # any number of slashes starts an authority
    (f" \t//{HOSTILE_HOST}/", True),           # leading spaces and tabs are dropped
    (f"http:{HOSTILE_HOST}", True),           # another scheme without slashes: an authority
    (f"https:/\\{HOSTILE_HOST}", True),
    (f"https://napoleonai.app@{HOSTILE_HOST}/", True),
    (f"https://napoleonai.app.{HOSTILE_HOST}/", True),
    (f"https:{HOSTILE_HOST}", False),         # the page's own scheme without slashes: a relative path
    ("/dashboard", False),
    (f"/dashboard?next=https://{HOSTILE_HOST}/", False),
    ("javascript:alert(1)", False),
    ("https://accounts.napoleonai.app/sign-in?redirect_url=" + EVIL, False),  # handed on, not landed
])
def test_locations_resolved_as_browsers_do(location: str, lands: bool) -> None:
    assert lands_on(resolve(BASE, location)) is lands, resolve(BASE, location)


def test_hostile_values_cover_the_classic_validator_bypasses() -> None:
    values = hostile_values("napoleonai.app")
    assert values["backslash"] == f"/\\{HOSTILE_HOST}/" and values["userinfo"].startswith("https://napoleonai.app@")
    on_https = {trick for trick, value in values.items() if lands_on(resolve(BASE, value))}
    assert on_https == set(values) - {"https-without-slashes"}
    on_http = {trick for trick, value in values.items() if lands_on(resolve("http://localhost:3000/", value))}
    assert on_http == set(values) - {"http-without-slashes"}


def test_next_hop_reads_location_and_next_js_refresh() -> None:
    assert next_hop(BASE, 303, httpx.Headers({"location": f"//{HOSTILE_HOST}/"}), "") == EVIL
    page = f'<html><head><meta id="__next-page-redirect" http-equiv="refresh" content="1;url=//{HOSTILE_HOST}/"/>'
    assert next_hop(BASE, 200, httpx.Headers({"content-type": "text/html; charset=utf-8"}), page) == EVIL
    assert refresh_url("<meta content=\"0; URL='/dashboard'\" http-equiv=\"Refresh\">") == "/dashboard"
    assert next_hop(BASE, 200, httpx.Headers({"content-type": "text/html"}), "<h1>Signed out</h1>") is None
    assert next_hop(BASE, 405, httpx.Headers({"content-type": "application/json"}), "{}") is None
