"""Vercel's automation bypass secret never reaches another origin (the deployment-protection bypass).

The post-deploy gate passes Vercel's Deployment Protection with the project's bypass secret, which
opens every deployment of the project: whoever holds it can read any preview.  The suite itself only
ever sends it to the deployment's own origin (a header on its own requests, a host-only cookie in the
browser); this check loads each page as a visitor's browser does and fails when any request to
another origin — a partner widget, an analytics script, a CDN — carries the bypass header, the
secret or the bypass cookie's value, whoever put it there.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from smokegate.checks import causes
from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.plugin.browser_fixtures import ContextFactory
from smokegate.synthetic.journey import ContextEvents, Tab, goto
from smokegate.synthetic.protection import SentRequest, bypass_leaks

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="synthetic")]


class _Requests(list[Request]):
    """Every request the context sends, as it sends it."""

    def add(self, request: Request) -> None:
        self.append(request)


def _watch(context: BrowserContext) -> _Requests:
    requests = _Requests()
    context.on("request", requests.add)
    return requests


@pytest.mark.check(severity="high", feature="deployment-protection")
def test_bypass_secret_stays_on_target_origin(
    target: Target, new_context: ContextFactory, vercel_bypass_cookies: list[dict[str, Any]],
    check_record: Any,
) -> None:
    syn = target.synthetic
    bypass = target.bypass()
    sent: list[SentRequest] = []
    # Each page as a first visit: a fresh context, then the same one reset between pages (cookies,
    # storage and cache cleared), untraced: the leaks found are the evidence, logs kept on failure.
    tab = Tab()
    try:
        for page in target.pages:
            tab_page = tab.visit(new_context.sample, target.base_url)
            assert tab.context is not None
            requests = _watch(tab.context)
            events = ContextEvents(target.base_url)
            events.attach(tab.context)
            try:
                # Once more when the network cut it; cut twice: could not be determined (not a suite error).
                try:
                    goto(tab_page, page.path, timeout=syn.navigation_timeout_ms)
                except PlaywrightTimeout:
                    # A page that never loads is the page checks' finding; what it sent so far says
                    # nothing certain about the bypass.
                    raise Inconclusive(f"{page.path} did not load within {syn.navigation_timeout_ms:.0f} ms: "
                                       "the requests its load would send could not all be watched") from None
                events.wait_quiet(tab_page, syn.settle_ms, syn.navigation_timeout_ms)
                # The headers the page set (provisional headers: never waits on the network).
                sent += [SentRequest(r.url, dict(r.headers), r.post_data) for r in requests]
            finally:
                events.detach(tab.context)
                tab.context.remove_listener("request", requests.add)
    finally:
        tab.close()
    leaks = bypass_leaks(sent, target.base_url, bypass.secret if bypass else None,
                         [c["value"] for c in vercel_bypass_cookies])
    check_record.detail("requests_watched", len(sent))
    check_record.detail("bypass_configured", bypass is not None)
    if leaks and target.vercel_bypass_env:
        # The page hands the secret to the script that sends it: the secret checks see it served too.
        check_record.cause("the Vercel bypass secret given away", causes.secret_key(target.vercel_bypass_env))
    assert not leaks, (
        f"the Vercel bypass left for another origin in {len(leaks)} request(s) from the site's pages: "
        + "; ".join(leaks[:3]) + (" …" if len(leaks) > 3 else "")
        + " (anyone holding the secret can open every deployment of the project: rotate it)"
    )
