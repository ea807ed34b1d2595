"""The browser side of the Clerk ticket sign-in (``@clerk/testing``'s ``clerk.signIn`` in Python).

:func:`route_testing_token` appends the Testing Token to the browser's Frontend API requests, and
only to those (``setupClerkTestingToken``).  :func:`ticket_sign_in` opens the sign-in page, waits for
clerk-js (``window.Clerk.loaded``), redeems the sign-in token with the ``ticket`` strategy and makes
the session active, exactly the calls Clerk's helper makes in the page, then opens the dashboard as
the app's server sees it.  It raises :class:`~smokegate.synthetic.journey.JourneyFailure` saying which
step failed: the frontend refused the ticket, or the ticket was redeemed but the app got no session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Route
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from smokegate.failures import FailureKind
from smokegate.synthetic.clerk_testing import BackendApi, is_frontend_api_request, with_testing_token
from smokegate.synthetic.config import SyntheticConfig
from smokegate.synthetic.journey import JourneyFailure, redact_url, remember_cookies

# Clerk's signInHelper (packages/testing/src/common/helpers-utils.ts), ticket strategy, returning what
# went wrong instead of throwing so the message is Clerk's own.
REDEEM_TICKET = """async ({ ticket, timeoutMs }) => {
  const clerk = window.Clerk;
  if (!clerk || !clerk.client) { return { ok: false, step: "load", message: "Clerk has no client" }; }
  // page.evaluate has no timeout of its own: a Frontend API call that never answers must not hang the run.
  const late = (step) => new Promise((resolve) => setTimeout(
    () => resolve({ ok: false, step, message: "no answer within " + timeoutMs + " ms" }), timeoutMs));
  const redeem = async () => {
    let attempt;
    try {
      attempt = await clerk.client.signIn.create({ strategy: "ticket", ticket });
    } catch (error) {
      const first = (error && error.errors && error.errors[0]) || {};
      return { ok: false, step: "sign-in", status: error && error.status, code: first.code || null,
               message: first.long_message || first.longMessage || String((error && error.message) || error) };
    }
    if (attempt.status !== "complete") {
      return { ok: false, step: "sign-in", message: "sign-in status is " + attempt.status + ", not complete" };
    }
    try {
      await clerk.setActive({ session: attempt.createdSessionId });
    } catch (error) {
      return { ok: false, step: "set-active", message: String((error && error.message) || error) };
    }
    return { ok: true };
  };
  return Promise.race([redeem(), late("sign-in")]);
}"""
CLERK_LOADED = "() => !!(window.Clerk && window.Clerk.loaded)"
CLERK_USER = "() => !!(window.Clerk && window.Clerk.user)"


def route_testing_token(context: BrowserContext, frontend_api: str, token: str) -> None:
    """Every Frontend API request of this context carries the Testing Token; no other request does."""

    def handle(route: Route) -> None:
        route.continue_(url=with_testing_token(route.request.url, token))

    context.route(lambda url: is_frontend_api_request(url, frontend_api), handle)


@dataclass
class TicketSignIn:
    """Where the ticket sign-in ended and how long its steps took."""

    user_name: str
    redeem_ms: float
    dashboard_ms: float


def ticket_sign_in(page: Page, syn: SyntheticConfig, ticket: str) -> TicketSignIn:
    """Redeem ``ticket`` in the page's clerk-js, then open the dashboard; raise what failed."""
    timeout = syn.navigation_timeout_ms
    page.goto(syn.sign_in_path, timeout=timeout)
    try:
        page.wait_for_function(CLERK_LOADED, timeout=timeout)
    except PlaywrightTimeout:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"Clerk did not load on {syn.sign_in_path} within {timeout:.0f} ms (window.Clerk.loaded stayed false): "
            "the ticket could not be redeemed",
        ) from None
    started = time.monotonic()
    result: dict[str, Any] = page.evaluate(REDEEM_TICKET, {"ticket": ticket, "timeoutMs": timeout})
    if not result.get("ok"):
        detail = result.get("message") or "no detail"
        code = f"{result['code']}: " if result.get("code") else ""
        status = f" (HTTP {result['status']})" if result.get("status") else ""
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"Clerk's frontend refused the synthetic user's sign-in ticket on {syn.sign_in_path} at step "
            f"{result.get('step')}{status}: {code}{detail}",
        )
    try:
        page.wait_for_function(CLERK_USER, timeout=timeout)
    except PlaywrightTimeout:
        raise JourneyFailure(FailureKind.SIGN_IN_FAILED,
                             "the ticket was redeemed but Clerk.user stayed empty") from None
    redeem_ms = (time.monotonic() - started) * 1000
    remember_cookies(page.context)
    started = time.monotonic()
    page.goto(syn.dashboard_path, timeout=timeout)
    dashboard_ms = (time.monotonic() - started) * 1000
    remember_cookies(page.context)
    landed = urlsplit(page.url).path
    if landed != syn.dashboard_path:
        session = [c for c in page.context.cookies() if c.get("name") == "__session"]
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"the ticket was redeemed (Clerk has an active session in the browser) but the app saw no session: "
            f"{syn.dashboard_path} sent the user to {redact_url(page.url)} "
            f"({'a' if session else 'no'} __session cookie for this origin)",
        )
    try:
        user_name = page.locator(syn.user_name_selector).first.inner_text(timeout=timeout).strip()
    except (PlaywrightTimeout, PlaywrightError):
        raise JourneyFailure(FailureKind.SIGN_IN_FAILED,
                             f"{syn.dashboard_path} shows no {syn.user_name_selector}") from None
    return TicketSignIn(user_name=user_name, redeem_ms=redeem_ms, dashboard_ms=dashboard_ms)


@dataclass
class ClerkTickets:
    """The synthetic Clerk user's sign-in tokens, and the Testing Token route for a browser context."""

    api: BackendApi
    email: str
    ttl_s: int
    frontend_api: Callable[[], str]
    _user_id: str | None = None
    _testing_token: str | None = None

    def prepare(self, context: BrowserContext) -> None:
        """Let the context's Frontend API requests past Clerk's bot protection (the Testing Token)."""
        if self._testing_token is None:
            self._testing_token = self.api.testing_token()
        route_testing_token(context, self.frontend_api(), self._testing_token)

    def ticket(self) -> str:
        """A fresh one-time sign-in token for the synthetic user."""
        if self._user_id is None:
            self._user_id = self.api.user_id(self.email)
        return self.api.sign_in_token(self._user_id, self.ttl_s)
