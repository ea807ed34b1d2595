"""What the synthetic checks do in the browser: load a page, capture an OAuth redirect, sign in.

Nothing here asserts; functions return what they saw or raise :class:`JourneyFailure` with a
*kind*, so the report can tell a broken platform (``sign-in-failed``) from a provider that blocked
the robot (``provider-bot-detection``) or a test session that simply expired
(``test-session-expired``) — neither of the latter is an outage.  Every value that must not be
kept (the OAuth code, cookie values) is handed to the scrubber as soon as it is seen.

This module holds the sign-in journey; the other steps live in modules named for them, re-exported
here so ``from smokegate.synthetic.journey import ...`` keeps working: :mod:`~smokegate.synthetic.steps`
(the failure and what every step shares), :mod:`~smokegate.synthetic.retry` (a step the network cut),
:mod:`~smokegate.synthetic.events` (a context's event log), :mod:`~smokegate.synthetic.page_load` and
:mod:`~smokegate.synthetic.oauth_capture`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from smokegate.failures import FailureKind
from smokegate.synthetic.config import Provider, SyntheticConfig
from smokegate.synthetic.events import ContextEvents
from smokegate.synthetic.oauth import origin_of
from smokegate.synthetic.oauth_capture import AuthorizeCapture, RedirectCatcher, capture_authorize, provider_button
from smokegate.synthetic.page_load import PageSampler, Tab, load_page, watch_evidence
from smokegate.synthetic.retry import goto, retry_cut
from smokegate.synthetic.steps import (
    BOT_CHALLENGE,
    JourneyFailure,
    looks_like_bot_challenge,
    redact_url,
    remember_cookies,
    remember_secrets_in,
)

__all__ = [
    "BOT_CHALLENGE", "AuthorizeCapture", "ContextEvents", "JourneyFailure", "PageSampler", "RedirectCatcher", "SignIn",
    "Tab", "capture_authorize", "goto", "load_page", "looks_like_bot_challenge", "provider_button", "reach_callback",
    "redact_url", "remember_cookies", "remember_secrets_in", "retry_cut", "sign_in", "sign_out", "watch_evidence",
]


# -- sign-in journey ------------------------------------------------------------------------------


@dataclass
class SignIn:
    """Where a completed sign-in ended, and the callback URL it went through."""

    final_url: str
    callback_url: str | None
    user_name: str


def sign_in(page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str, email: str, password: str) -> SignIn:
    """The whole journey: sign-in page, provider button, provider login, callback, dashboard."""
    timeout = syn.navigation_timeout_ms
    callbacks: list[tuple[str, int]] = []
    redirect_paths: set[str] = set()

    def on_request(request: Any) -> None:
        remember_secrets_in(request.url)
        if request.resource_type == "document" and origin_of(request.url) != app_origin:
            redirect_uri = parse_qs(urlsplit(request.url).query).get("redirect_uri", [""])[0]
            if redirect_uri:
                redirect_paths.add(urlsplit(redirect_uri).path)

    def on_response(response: Any) -> None:
        if urlsplit(response.url).path in redirect_paths:
            callbacks.append((response.url, response.status))

    page.on("request", on_request)
    page.on("response", on_response)
    goto(page, syn.sign_in_path, timeout=timeout)
    provider_button(page, provider).click(timeout=timeout)
    try:
        page.wait_for_url(lambda url: (urlsplit(url).hostname or "") == provider.authorize_host, timeout=timeout)
    except PlaywrightTimeout:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"the {provider.name} button did not reach {provider.authorize_host} (at {redact_url(page.url)})",
        ) from None
    _fill_login(page, provider, email, password, timeout)
    try:
        page.wait_for_url(lambda url: origin_of(url) == app_origin, timeout=timeout, wait_until="load")
    except PlaywrightTimeout:
        text = _page_text(page)
        if looks_like_bot_challenge(page.url, text):
            raise JourneyFailure(
                FailureKind.PROVIDER_BOT_DETECTION,
                f"{provider.name} showed a bot challenge instead of signing in (at {redact_url(page.url)}): "
                "the provider blocked the robot, not an outage",
            ) from None
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"the {provider.name} login did not return to the app within {timeout:.0f} ms (at {redact_url(page.url)})",
        ) from None
    remember_cookies(page.context)
    path = urlsplit(page.url).path
    callback = callbacks[-1] if callbacks else None
    if callback is not None and callback[1] >= 400:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"the OAuth callback {urlsplit(callback[0]).path} answered HTTP {callback[1]}",
        )
    if path != syn.dashboard_path:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"after the {provider.name} login the app ended on {redact_url(page.url)}, not on "
            f"{syn.dashboard_path} (a sign-in loop)",
        )
    name = page.locator(syn.user_name_selector).first
    try:
        user_name = name.inner_text(timeout=timeout).strip()
    except PlaywrightTimeout:
        raise JourneyFailure(FailureKind.SIGN_IN_FAILED,
                             f"{syn.dashboard_path} shows no {syn.user_name_selector}") from None
    return SignIn(page.url, callback[0] if callback else None, user_name)


def _fill_login(page: Page, provider: Provider, email: str, password: str, timeout: float) -> None:
    email_box = page.locator(provider.email_selector).first
    password_box = page.locator(provider.password_selector).first
    submit = page.locator(provider.submit_selector).first
    try:
        email_box.fill(email, timeout=timeout)
        if not password_box.is_visible():
            # Two-step forms (Google, Microsoft): email first, then the password page.
            submit.click(timeout=timeout)
            password_box.wait_for(state="visible", timeout=timeout)
        password_box.fill(password, timeout=timeout)
        submit.click(timeout=timeout)
    except PlaywrightTimeout:
        text = _page_text(page)
        challenged = looks_like_bot_challenge(page.url, text)
        kind = FailureKind.PROVIDER_BOT_DETECTION if challenged else FailureKind.SIGN_IN_FAILED
        raise JourneyFailure(
            kind, f"the {provider.name} login form could not be filled at {redact_url(page.url)}"
        ) from None


def _page_text(page: Page) -> str:
    try:
        return page.content()
    except PlaywrightError:
        return ""


def sign_out(page: Page, syn: SyntheticConfig) -> None:
    button = (
        page.get_by_role("button", name=syn.sign_out_label).or_(page.get_by_role("link", name=syn.sign_out_label)).first
    )
    with page.expect_navigation(timeout=syn.navigation_timeout_ms):
        button.click(timeout=syn.navigation_timeout_ms)


def reach_callback(
    page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str, email: str, password: str
) -> str:
    """Sign in at the provider but stop at the callback: return its URL (code and state), unfollowed.

    The provider answers the login form with a redirect to the callback; redirects are not routed,
    so the form's POST itself is fetched (``max_redirects=0``) and the redirect read, not followed.
    """
    goto(page, syn.sign_in_path, timeout=syn.navigation_timeout_ms)
    provider_button(page, provider).click(timeout=syn.navigation_timeout_ms)
    try:
        page.wait_for_url(
            lambda url: (urlsplit(url).hostname or "") == provider.authorize_host, timeout=syn.navigation_timeout_ms
        )
    except PlaywrightTimeout:
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED,
            f"the {provider.name} button did not reach {provider.authorize_host} (at {redact_url(page.url)})",
        ) from None
    def back_with_code(url: str) -> bool:
        return origin_of(url) == app_origin and "code" in parse_qs(urlsplit(url).query)

    catcher = RedirectCatcher(back_with_code, only_post=True, follow_navigation=False)
    captured, errors = catcher.run(
        page, lambda: _fill_login(page, provider, email, password, syn.navigation_timeout_ms),
        syn.navigation_timeout_ms,
    )
    if captured:
        remember_secrets_in(captured[0])
    if not captured:
        reason = errors[0] if errors else f"now at {redact_url(page.url)}"
        raise JourneyFailure(
            FailureKind.SIGN_IN_FAILED, f"the {provider.name} login never redirected back with a code ({reason})"
        )
    return captured[0]
