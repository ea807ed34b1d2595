"""browser_cookies (smokegate.synthetic.protection) against a real Chromium's cookie jar.

Each answer's Set-Cookie lines are served to a page's navigation in Chromium (a route fulfils it: no
network) and read back with Playwright's ``context.cookies()``; the cookies computed in Python from
the same lines must be the same, field by field, in the form ``add_cookies`` takes.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, sync_playwright

from smokegate.synthetic.browser import CHROMIUM_FLAGS, find_chromium, launch_flags
from smokegate.synthetic.protection import browser_cookies

URL = "https://app.example.test/dir/page"
FUTURE = email.utils.formatdate(time.time() + 86400, usegmt=True)

CASES = {
    "vercel-bypass": ["_vercel_jwt=eyJhbGciOiJIUzI1NiJ9.e30.sig; Max-Age=3600; Path=/; SameSite=Lax; Secure; HttpOnly"],
    "bare": ["plain=1"],
    "domain": ["wide=2; Domain=example.test; Path=/"],
    "dotted-domain": ["dotted=3; Domain=.Example.TEST; Path=/x"],
    "foreign-domain": ["foreign=4; Domain=other.test; Path=/"],
    "samesite-none": ["cross=5; SameSite=None; Secure; Path=/"],
    "samesite-strict": ["strict=6; samesite=strict; path=/"],
    "max-age-zero": ["gone=7; Max-Age=0; Path=/"],
    "expired": ["old=8; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/"],
    "expires-future": [f"later=9; Expires={FUTURE}; Path=/"],
    "max-age-wins": [f"both=10; Max-Age=60; Expires={FUTURE}; Path=/"],
    "replaced": ["twice=old; Path=/", "twice=new; Path=/"],
    "two-paths": ["same=root; Path=/", "same=dir; Path=/dir"],
}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        executable = find_chromium(playwright.chromium.executable_path)
        browser = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_FLAGS, *launch_flags()])
        yield browser
        browser.close()


def _chromium_jar(browser: Browser, lines: list[str]) -> list[dict[str, Any]]:
    context = browser.new_context()
    try:
        def answer(route: Route) -> None:
            route.fulfill(status=200, headers={"content-type": "text/html", "set-cookie": "\n".join(lines)},
                          body="<p>ok</p>")

        context.route("**/*", answer)
        context.new_page().goto(URL)
        return [dict(cookie) for cookie in context.cookies()]
    finally:
        context.close()


def _comparable(cookies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("name", "value", "domain", "path", "httpOnly", "secure", "sameSite")
    return sorted(({k: c[k] for k in keys} | {"session": c["expires"] == -1} for c in cookies),
                  key=lambda c: (str(c["name"]), str(c["path"])))


@pytest.mark.parametrize("case", CASES)
def test_the_cookies_are_those_chromium_stores(chromium: Browser, case: str) -> None:
    lines = CASES[case]
    stored = _chromium_jar(chromium, lines)
    ours = browser_cookies(lines, URL)
    assert _comparable(ours) == _comparable(stored)
    for mine in ours:
        theirs = next(c for c in stored if (c["name"], c["path"]) == (mine["name"], mine["path"]))
        assert abs(float(mine["expires"]) - float(theirs["expires"])) < 5, (mine, theirs)
