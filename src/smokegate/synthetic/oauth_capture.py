"""Capturing the OAuth authorize redirect a sign-in button starts, in the browser, without following it
to the provider: :func:`capture_authorize` (the checks judge the URL with :mod:`smokegate.synthetic.oauth`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Route

from smokegate.failures import FailureKind, Inconclusive
from smokegate.synthetic.config import Provider, SyntheticConfig
from smokegate.synthetic.oauth import AuthorizeUrl, origin_of
from smokegate.synthetic.retry import goto, retry_cut
from smokegate.synthetic.steps import (
    JourneyFailure,
    redact_url,
)

AuthorizeCapture = Callable[[Provider], tuple[AuthorizeUrl, AuthorizeUrl]]


def provider_button(page: Page, provider: Provider) -> Locator:
    if provider.button_selector:
        return page.locator(provider.button_selector).first
    return page.get_by_role("button", name=provider.label).or_(page.get_by_role("link", name=provider.label)).first


class RedirectCatcher:
    """Catch the first navigation to a URL ``wanted`` accepts, without ever requesting it.

    Document requests are intercepted: one going straight to a wanted URL is aborted (when
    ``follow_navigation``), and a redirect is read with ``route.fetch(max_redirects=0)``, so a
    redirect to a wanted URL is captured and aborted, never followed; anything else continues.
    ``only_post`` limits this to form posts (the provider's login form).
    """

    def __init__(
        self, wanted: Callable[[str], bool], *, only_post: bool = False, follow_navigation: bool = True
    ) -> None:
        self.wanted = wanted
        self.only_post = only_post
        self.follow_navigation = follow_navigation
        self.captured: list[str] = []
        self.errors: list[str] = []
        # A request the network cut twice: the step could not be determined (raised after the wait).
        self.cut: list[Inconclusive] = []

    def handle(self, route: Route) -> None:
        request = route.request
        if (self.captured or request.resource_type != "document"
                or (self.only_post and request.method != "POST")):
            route.continue_()
            return
        if self.follow_navigation and self.wanted(request.url):
            self.captured.append(request.url)
            route.abort("blockedbyclient")
            return
        try:
            response, _ = retry_cut(lambda: route.fetch(max_redirects=0),
                                    f"{request.method} {redact_url(request.url)}")
        except Inconclusive as exc:
            # A handler that raises leaves the navigation pending forever: resolve it, report later.
            self.cut.append(exc)
            route.abort("failed")
            return
        except PlaywrightError as exc:
            self.errors.append(str(exc).splitlines()[0])
            route.abort("failed")
            return
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location:
            absolute = urljoin(request.url, location)
            if self.wanted(absolute):
                self.captured.append(absolute)
                route.abort("blockedbyclient")
                return
        route.fulfill(response=response)

    def run(self, page: Page, action: Callable[[], object], timeout_ms: float) -> tuple[list[str], list[str]]:
        """Do ``action`` with the interception on; wait (bounded) until something is caught or fails."""
        page.route("**/*", self.handle)
        try:
            action()
            deadline = time.monotonic() + timeout_ms / 1000
            while not self.captured and not self.errors and not self.cut and time.monotonic() < deadline:
                page.wait_for_timeout(25)
        finally:
            page.unroute("**/*", self.handle)
        if self.cut and not self.captured:
            raise self.cut[0]
        return self.captured, self.errors


def capture_authorize(page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str) -> str:
    """Click the provider's button and return the URL it navigates to outside the app, unfollowed.

    Navigations leaving the app's origin are aborted by route interception, and a same-origin
    redirect towards the provider is read with ``route.fetch(max_redirects=0)`` and not followed, so
    no third-party login page is ever requested.
    """
    goto(page, syn.sign_in_path, timeout=syn.navigation_timeout_ms)
    catcher = RedirectCatcher(lambda url: origin_of(url) != app_origin)
    captured, errors = catcher.run(
        page, lambda: provider_button(page, provider).click(timeout=syn.navigation_timeout_ms),
        syn.navigation_timeout_ms,
    )
    if errors and not captured:
        raise JourneyFailure(FailureKind.SIGN_IN_FAILED, f"clicking {provider.label!r}: {errors[0]}")
    if not captured:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"clicking {provider.label!r} on {syn.sign_in_path} did not navigate away from the app "
            f"within {syn.navigation_timeout_ms:.0f} ms (now at {redact_url(page.url)})",
        )
    return captured[0]
