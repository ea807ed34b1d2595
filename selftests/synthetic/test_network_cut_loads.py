"""A page load the network cuts is loaded again, not reported as the page's failure.

Real Chromium against the real testbed; Playwright's routing cuts chosen requests the way a reset
connection does (``net::ERR_CONNECTION_RESET``), so which request is cut is deterministic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, sync_playwright

from smokegate.browser import CHROMIUM_FLAGS, find_chromium
from smokegate.config import resolve_target
from smokegate.failures import Inconclusive
from smokegate.synthetic.config import SyntheticConfig
from smokegate.synthetic.journey import load_page
from smokegate.synthetic.tls import chromium_trust_args
from smokegate.testbed.control import RunningTestbed

from ..conftest import ROOT

Factory = Callable[..., BrowserContext]


@pytest.fixture(scope="module")
def browser(testbed: RunningTestbed) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        args = [*CHROMIUM_FLAGS, *chromium_trust_args(testbed.url, testbed.ca_file)]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright.chromium.executable_path),
                                             args=args)
        yield browser
        browser.close()


def contexts(browser: Browser, testbed: RunningTestbed, cut: Callable[[int], str | None]) -> tuple[Factory, list[str]]:
    """A context factory whose n-th context (from 1) answers its first script request with ``cut(n)``:
    None lets it through, an error code aborts it (a reset), "500" answers an error instead."""
    made: list[str] = []

    def factory(**kwargs: object) -> BrowserContext:
        context = browser.new_context(base_url=testbed.url, ignore_https_errors=False)
        number = len(made) + 1
        action = cut(number)
        made.append(action or "through")
        done = False

        def handle(route: Route) -> None:
            nonlocal done
            if action is None or done or route.request.resource_type != "script":
                route.continue_()
                return
            done = True
            if action == "500":
                route.fulfill(status=500, body="oops")
            else:
                route.abort(action)

        context.route("**/*", handle)
        return context

    return factory, made


def syn_config(testbed: RunningTestbed) -> SyntheticConfig:
    return resolve_target(ROOT / "smokegate.toml", "local", testbed.url).synthetic


def test_a_load_cut_by_the_network_is_loaded_again(browser: Browser, healthy_testbed: RunningTestbed) -> None:
    factory, made = contexts(browser, healthy_testbed, lambda n: "connectionreset" if n == 1 else None)
    load = load_page(factory, "/", syn_config(healthy_testbed), healthy_testbed.url)
    assert made == ["connectionreset", "through"]
    assert load.failed_requests == () and load.page_errors == (), load


def test_a_load_cut_twice_could_not_be_determined(browser: Browser, healthy_testbed: RunningTestbed) -> None:
    factory, made = contexts(browser, healthy_testbed, lambda n: "connectionreset")
    with pytest.raises(Inconclusive, match=r"the network cut the load of / twice \(2 attempts\); last: GET "
                                           r"https://localhost:\d+/\S+\.js: net::ERR_CONNECTION_RESET"):
        load_page(factory, "/", syn_config(healthy_testbed), healthy_testbed.url)
    assert made == ["connectionreset", "connectionreset"]


def test_a_script_the_server_fails_is_the_pages_failure(browser: Browser, healthy_testbed: RunningTestbed) -> None:
    factory, made = contexts(browser, healthy_testbed, lambda n: "500")
    load = load_page(factory, "/", syn_config(healthy_testbed), healthy_testbed.url)
    assert made == ["500"], "a server error is not the network's: no second load"
    assert len(load.failed_requests) == 1 and load.failed_requests[0].endswith(": HTTP 500"), load.failed_requests
