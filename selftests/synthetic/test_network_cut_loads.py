"""A page load or an API request the network cuts is tried again, not reported as the page's failure.

Real Chromium against the real testbed.  Page loads: Playwright's routing cuts chosen requests the
way a reset connection does (``net::ERR_CONNECTION_RESET``), so which request is cut is
deterministic.  API requests (Playwright's own HTTP client): a chaos proxy resets the next N
connections, so the error text is the real one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, Route, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from smokegate.config import load_config, resolve_target
from smokegate.failures import Inconclusive
from smokegate.synthetic.browser import CHROMIUM_FLAGS, find_chromium
from smokegate.synthetic.cert_pin import chromium_trust_args
from smokegate.synthetic.config import SyntheticConfig
from smokegate.synthetic.journey import goto, load_page, retry_cut
from smokegate.testbed.chaos import ChaosProxy
from smokegate.testbed.control import RunningTestbed

from ..conftest import ROOT

Factory = Callable[..., BrowserContext]


@pytest.fixture(scope="module")
def browser(testbed: RunningTestbed) -> Iterator[Browser]:
    # Playwright's API requests use Node's TLS, which trusts the testbed's CA through this variable.
    previous = os.environ.get("NODE_EXTRA_CA_CERTS")
    os.environ["NODE_EXTRA_CA_CERTS"] = testbed.ca_file
    try:
        with sync_playwright() as playwright:
            yield from _launched(playwright, testbed)
    finally:
        if previous is None:
            os.environ.pop("NODE_EXTRA_CA_CERTS", None)
        else:
            os.environ["NODE_EXTRA_CA_CERTS"] = previous


def _launched(playwright: Playwright, testbed: RunningTestbed) -> Iterator[Browser]:
    args = [*CHROMIUM_FLAGS, *chromium_trust_args(testbed.url, testbed.ca_file)]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    browser = playwright.chromium.launch(executable_path=find_chromium(playwright.chromium.executable_path), args=args)
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
    return resolve_target(load_config(ROOT / "smokegate.toml"), "local", testbed.url).synthetic


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


@pytest.fixture
def chaos(healthy_testbed: RunningTestbed) -> Iterator[ChaosProxy]:
    with ChaosProxy(("127.0.0.1", int(healthy_testbed.url.rsplit(":", 1)[1]))).running() as proxy:
        yield proxy


def test_an_api_request_cut_once_is_sent_again(browser: Browser, chaos: ChaosProxy) -> None:
    context = browser.new_context(base_url=f"https://localhost:{chaos.listen_port}")
    chaos.reset_next(1)
    answer, elapsed_ms = retry_cut(lambda: context.request.get("/api/health"), "GET /api/health")
    assert answer.status == 200 and chaos.stats.reset_at_accept == 1
    assert elapsed_ms < 5000
    context.close()


def test_an_api_request_cut_twice_could_not_be_determined(browser: Browser, chaos: ChaosProxy) -> None:
    context = browser.new_context(base_url=f"https://localhost:{chaos.listen_port}")
    chaos.reset_next(2)
    with pytest.raises(Inconclusive, match=r"^could not be determined: GET /api/health: .*"
                                           r"(ECONNRESET|socket hang up).* \(2 attempts\)$"):
        retry_cut(lambda: context.request.get("/api/health"), "GET /api/health")
    context.close()


def test_other_browser_errors_are_not_retried() -> None:
    calls = []

    def step() -> None:
        calls.append(1)
        raise PlaywrightError("APIRequestContext.get: connect ECONNREFUSED 127.0.0.1:1")

    with pytest.raises(PlaywrightError, match="ECONNREFUSED"):
        retry_cut(step, "GET /")
    assert len(calls) == 1, "a refused connection lasts: not retried"


@pytest.mark.parametrize(("after_bytes", "loads"), [(1, 1), (4000, 2)], ids=["in-the-handshake", "in-the-page"])
def test_a_document_cut_by_a_reset_is_loaded_again(
    browser: Browser, chaos: ChaosProxy, healthy_testbed: RunningTestbed, after_bytes: int, loads: int
) -> None:
    # Cut in the TLS handshake, Chromium itself tries again on a new connection.  Cut in the page,
    # it keeps the half page waiting for "load" until the timeout (seen in the soak): that load is
    # the network's, and the second one is measured.
    url = f"https://localhost:{chaos.listen_port}"
    made: list[str] = []

    def proxied(**kwargs: object) -> BrowserContext:
        made.append("proxied")
        return browser.new_context(base_url=url, ignore_https_errors=False)

    syn = syn_config(healthy_testbed).model_copy(update={"navigation_timeout_ms": 3000})
    chaos.reset_next(1, when="mid", after_bytes=after_bytes)
    load = load_page(proxied, "/", syn, url)
    assert made == ["proxied"] * loads
    assert load.failed_requests == () and chaos.stats.reset_mid_stream == 1


def test_a_navigation_cut_in_the_page_is_made_again(browser: Browser, chaos: ChaosProxy) -> None:
    context = browser.new_context(base_url=f"https://localhost:{chaos.listen_port}")
    page = context.new_page()
    chaos.reset_next(1, when="mid", after_bytes=4000)
    started = time.monotonic()
    response = goto(page, "/pricing", timeout=3000)
    assert response is not None and response.status == 200 and "Executive plan" in page.content()
    assert chaos.stats.reset_mid_stream == 1 and time.monotonic() - started < 10
    context.close()
    # Cut every time (the document aborted as a reset would end it): could not be determined.
    context = browser.new_context(base_url=f"https://localhost:{chaos.listen_port}")
    aborted: list[str] = []
    context.route("**/pricing", lambda route: (aborted.append(route.request.url), route.abort("connectionreset")))
    with pytest.raises(Inconclusive, match=r"the network cut the navigation to /pricing twice \(2 attempts\); "
                                           r"last: GET https://localhost:\d+/pricing: net::ERR_CONNECTION_RESET"):
        goto(context.new_page(), "/pricing", timeout=3000)
    assert len(aborted) == 2
    context.close()
