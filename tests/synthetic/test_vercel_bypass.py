"""Vercel's automation bypass secret never reaches another origin (the deployment-protection bypass).

The post-deploy gate passes Vercel's Deployment Protection with the project's bypass secret, which
opens every deployment of the project: whoever holds it can read any preview.  The suite itself only
ever sends it to the deployment's own origin (a header on its own requests, a host-only cookie in the
browser); this check loads each page as a visitor's browser does and fails when any request to
another origin — a partner widget, an analytics script, a CDN — carries the bypass header, the
secret or the bypass cookie's value, whoever put it there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Request

from smokegate.config import Target
from smokegate.synthetic.journey import ContextEvents
from smokegate.synthetic.protection import SentRequest, bypass_leaks

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="synthetic")]


def _watch(context: BrowserContext) -> list[Request]:
    """Every request the context sends, as it sends it."""
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))
    return requests


@pytest.mark.check(severity="high", feature="deployment-protection")
def test_bypass_secret_stays_on_target_origin(
    target: Target, new_context: Callable[..., BrowserContext], vercel_bypass_cookies: list[dict[str, Any]],
    check_record: Any,
) -> None:
    syn = target.synthetic
    bypass = target.bypass()
    sent: list[SentRequest] = []
    for page in target.pages:
        context = new_context()
        requests = _watch(context)
        events = ContextEvents(target.base_url)
        events.attach(context)
        try:
            tab = context.new_page()
            tab.goto(page.path, wait_until="load", timeout=syn.navigation_timeout_ms)
            events.wait_quiet(tab, syn.settle_ms, syn.navigation_timeout_ms)
            # The headers the page set (provisional headers: never waits on the network).
            sent += [SentRequest(r.url, dict(r.headers), r.post_data) for r in requests]
        finally:
            context.close()
    leaks = bypass_leaks(sent, target.base_url, bypass.secret if bypass else None,
                         [c["value"] for c in vercel_bypass_cookies])
    check_record.detail("requests_watched", len(sent))
    check_record.detail("bypass_configured", bypass is not None)
    assert not leaks, (
        f"the Vercel bypass left for another origin in {len(leaks)} request(s) from the site's pages: "
        + "; ".join(leaks[:3]) + (" …" if len(leaks) > 3 else "")
        + " (anyone holding the secret can open every deployment of the project: rotate it)"
    )
