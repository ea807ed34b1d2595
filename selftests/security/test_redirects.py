"""Unit tests of smokegate.checks.redirects and smokegate.checks.urls: where a browser goes, resolved as
browsers resolve it (WHATWG URL), checked against a table, Hypothesis properties of the standard,
and Chromium's own ``new URL()``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smokegate.checks import urls
from smokegate.checks.redirects import HOSTILE_HOST, HOSTILE_IP, hostile_values, lands_on, next_hop, refresh_url

from ..hostile import CORPUS, EVIL, PROBE_ONLY

BASE = "https://napoleonai.app/sign-out?redirect_url=x"
EVIL_URL = f"https://{HOSTILE_HOST}/"
# Values aimed at apps that decode the value once more or glue it behind their own origin: a browser
# reading them as they are stays on the site.
MANGLED = {"at-prefix", "dot-prefix", "encoded-scheme-relative", "encoded-absolute", "encoded-backslash"}


@pytest.mark.parametrize(("location", "lands"), [
    (f"https://{HOSTILE_HOST}/", True),
    (f"//{HOSTILE_HOST}/", True),
    (f"/\\{HOSTILE_HOST}/", True),            # a backslash is a slash to a browser
    (f"\\\\{HOSTILE_HOST}", True),
    (f"\\/\\/{HOSTILE_HOST}", True),
    (f"///{HOSTILE_HOST}/", True),            # any number of slashes starts an authority
    (f" \t//{HOSTILE_HOST}/", True),           # leading spaces and tabs are dropped
    (f"/\t/{HOSTILE_HOST}/", True),            # and tabs and newlines anywhere
    (f"h\nttps://{HOSTILE_HOST}/", True),
    (f"http:{HOSTILE_HOST}", True),           # another scheme without slashes: an authority
    (f"https:/\\{HOSTILE_HOST}", True),
    (f"https://napoleonai.app@{HOSTILE_HOST}/", True),
    (f"https://napoleonai.app.{HOSTILE_HOST}/", True),
    (f"//{HOSTILE_HOST.replace('.example', '。example')}/", True),  # IDNA maps the ideographic full stop
    ("http://0xc0.0x0.0x2.0x1/", True),        # the hostile address, in hex
    (f"https:{HOSTILE_HOST}", False),         # the page's own scheme without slashes: a relative path
    (f"https:/{HOSTILE_HOST}", False),
    (f"%2F%2F{HOSTILE_HOST}", False),          # percent-encoded slashes are a path
    ("/dashboard", False),
    (f"/dashboard?next=https://{HOSTILE_HOST}/", False),
    ("javascript:alert(1)", False),
    ("https://accounts.napoleonai.app/sign-in?redirect_url=" + EVIL_URL, False),  # handed on, not landed
    ("http://[::1/x", False),                # no URL at all: the browser goes nowhere
])
def test_locations_resolved_as_browsers_do(location: str, lands: bool) -> None:
    assert lands_on(urls.resolve(BASE, location)) is lands, urls.resolve(BASE, location)


def test_hostile_values_land_off_site_where_a_browser_says_so() -> None:
    values = hostile_values("napoleonai.app")
    assert len(values) >= 40 and values["backslash"] == f"/\\{HOSTILE_HOST}/"
    on_https = {trick for trick, value in values.items() if lands_on(urls.resolve(BASE, value))}
    assert on_https == set(values) - MANGLED - {"https-without-slashes", "https-one-slash"}
    on_http = {trick for trick, value in values.items() if lands_on(urls.resolve("http://localhost:3000/", value))}
    assert on_http == set(values) - MANGLED - {"http-without-slashes", "ip-without-slashes"}
    # What the value becomes once an app decodes it again or glues it behind its origin.
    assert lands_on(urls.resolve(BASE, values["encoded-scheme-relative"].replace("%2F", "/")))
    assert lands_on("https://napoleonai.app" + values["at-prefix"])


def test_issue_19s_location_stays_on_the_same_origin() -> None:
    resolved = urls.resolve("https://app.example/sign-in?redirect_url=x", f"https:{HOSTILE_HOST}")
    assert resolved == f"https://app.example/{HOSTILE_HOST}" and not lands_on(resolved)
    assert lands_on(f"http://{HOSTILE_IP}/")


def test_next_hop_reads_location_and_next_js_refresh() -> None:
    assert next_hop(BASE, 303, httpx.Headers({"location": f"//{HOSTILE_HOST}/"}), "") == EVIL_URL
    page = f'<html><head><meta id="__next-page-redirect" http-equiv="refresh" content="1;url=//{HOSTILE_HOST}/"/>'
    assert next_hop(BASE, 200, httpx.Headers({"content-type": "text/html; charset=utf-8"}), page) == EVIL_URL
    assert refresh_url("<meta content=\"0; URL='/dashboard'\" http-equiv=\"Refresh\">") == "/dashboard"
    assert next_hop(BASE, 200, httpx.Headers({"content-type": "text/html"}), "<h1>Signed out</h1>") is None
    assert next_hop(BASE, 405, httpx.Headers({"content-type": "application/json"}), "{}") is None
    assert next_hop(BASE, 302, httpx.Headers({"location": "data:text/html,x"}), "") is None
    assert next_hop(BASE, 302, httpx.Headers({"location": "http://[::1/x"}), "") is None


# -- properties of the WHATWG URL parser the checks rely on -------------------------------------------

_REF = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_PATHISH = st.text(st.sampled_from("abcXYZ019-._~%/\\@:;=+!$&'()*,"), max_size=30)
_BASES = st.sampled_from([BASE, "http://localhost:3000/a/b?c#d", "https://[::1]:8443/", "https://xn--bcher-kva.example/"])


@settings(max_examples=300, deadline=None)
@given(base=_BASES, reference=_REF)
def test_resolution_never_raises_and_is_absolute(base: str, reference: str) -> None:
    resolved = urls.resolve(base, reference)
    if resolved is not None:
        assert urls.parse(resolved) is not None
        assert urls.resolve(base, resolved) == resolved  # an absolute URL resolves to itself
    lands_on(resolved)
    next_hop(base, 302, httpx.Headers([(b"location", reference.encode("utf-8", "replace"))]), "")


@settings(max_examples=200, deadline=None)
@given(base=_BASES, reference=_REF, where=st.lists(st.tuples(st.integers(0, 40), st.sampled_from("\t\n\r")),
                                                     max_size=4))
def test_tabs_and_newlines_are_dropped_wherever_they_are(base: str, reference: str, where: list[Any]) -> None:
    broken = reference
    for index, char in where:
        broken = broken[:index] + char + broken[index:]
    assert urls.resolve(base, broken) == urls.resolve(base, reference)


@settings(max_examples=200, deadline=None)
@given(base=_BASES, reference=_REF, lead=st.text(st.sampled_from(" \x00\x01\x1f"), max_size=3),
       trail=st.text(st.sampled_from(" \x00\x1f"), max_size=3))
def test_leading_and_trailing_controls_and_spaces_are_stripped(base: str, reference: str, lead: str,
                                                                trail: str) -> None:
    assert urls.resolve(base, lead + reference + trail) == urls.resolve(base, reference)


@settings(max_examples=200, deadline=None)
@given(base=_BASES, path=_PATHISH)
def test_a_backslash_is_a_slash_in_an_http_path(base: str, path: str) -> None:
    path = "/" + path  # no scheme of its own ("x:\\" is a URL of scheme x, where a backslash is a backslash)
    assert urls.resolve(base, path.replace("/", "\\")) == urls.resolve(base, path.replace("\\", "/"))


@settings(max_examples=300, deadline=None)
@given(base=_BASES, rest=_PATHISH.filter(lambda p: not p.startswith(("/", "\\"))))
def test_a_path_a_careful_validator_accepts_stays_on_site(base: str, rest: str) -> None:
    # One slash, then anything but another slash or backslash (and no tab or newline: dropped above).
    assert urls.origin(urls.resolve(base, "/" + rest)) == urls.origin(base)


# -- against a browser's own URL parser -------------------------------------------------------------------

def _corpus_locations() -> list[str]:
    found = []
    for answer in (*CORPUS, *PROBE_ONLY):
        if answer.name.startswith("location-"):
            data = answer.send.__closure__[0].cell_contents if answer.send.__closure__ else b""  # type: ignore[attr-defined]
            head = data.split(b"\r\n\r\n")[0] if isinstance(data, bytes) else b""
            found += [line.split(b": ", 1)[1].decode("utf-8", "replace") for line in head.split(b"\r\n")
                      if line.lower().startswith(b"location: ")]
    return found


def test_chromium_resolves_every_hostile_value_and_corpus_location_the_same(report_browser: Any) -> None:
    references = [*hostile_values("napoleonai.app").values(), *_corpus_locations(), f"https:{EVIL}"]
    assert len(references) > 55
    page = report_browser.new_page()
    try:
        theirs = page.evaluate("""([base, refs]) => refs.map(r => {
            try { return new URL(r, base).href } catch (e) { return null } })""", [BASE, references])
    finally:
        page.close()
    ours = [urls.resolve(BASE, reference) for reference in references]
    differ = {r: (o, t) for r, o, t in zip(references, ours, theirs, strict=True) if o != t}
    assert not differ, differ
