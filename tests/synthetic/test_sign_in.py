"""Sign-in journey with the test account (ops guide: "Authentication Failures ... Test OAuth flows").

Locally the testbed's identity provider stands in for the providers; against a real target the
credentials come only from the environment variables the config names, and these checks are skipped
with that reason when they are unset.  Signing in with a dedicated test account only creates that
account's own session and ends it, so the journey is marked safe; replaying a code and tampering
with ``state`` send attack-shaped requests (they may page the on-call or revoke the account's
tokens at the provider), so those two are intrusive.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import BrowserContext

from smokegate.config import Target
from smokegate.scrub import SCRUBBER
from smokegate.synthetic.journey import goto, reach_callback, retry_cut, sign_in, sign_out

pytestmark = pytest.mark.check(epic="synthetic")

ContextFactory = Callable[..., BrowserContext]
SESSION_COOKIE = "__session"


def _journey_provider(target: Target, check_record: Any) -> Any:
    provider = target.synthetic.journey_provider()
    if provider is None:
        pytest.skip("no OAuth provider configured for the sign-in journey")
    # Every journey check signs in first: a sign-in that breaks (a failing callback, a lost session
    # cookie) fails each of them, and that is one finding.
    check_record.cause(f"the sign-in journey with {provider.name}", f"sign-in:{provider.name}")
    return provider


@pytest.mark.safe
@pytest.mark.check(severity="critical", feature="sign-in")
def test_sign_in_reaches_dashboard(
    target: Target, new_context: ContextFactory, test_account: tuple[str, str], check_record: Any
) -> None:
    syn, provider = target.synthetic, _journey_provider(target, check_record)
    page = new_context().new_page()
    started = time.monotonic()
    result = sign_in(page, syn, provider, target.base_url, *test_account)
    check_record.measure((time.monotonic() - started) * 1000, None, provider=provider.name)
    expected = syn.account.display_name
    assert result.user_name and (expected is None or result.user_name == expected), (
        f"{syn.dashboard_path} greets {result.user_name!r}, expected {expected or 'the test user'!r}"
    )


@pytest.mark.safe
@pytest.mark.check(severity="high", feature="sign-in")
def test_sign_out_ends_session(
    target: Target, new_context: ContextFactory, test_account: tuple[str, str], check_record: Any
) -> None:
    # Its own sign-in: signing out revokes the session, so the worker's shared one must not be used.
    syn, provider = target.synthetic, _journey_provider(target, check_record)
    context = new_context()
    page = context.new_page()
    sign_in(page, syn, provider, target.base_url, *test_account)
    session = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    SCRUBBER.add(*(c["value"] for c in session))
    sign_out(page, syn)
    after, _ = retry_cut(lambda: context.request.get(syn.user_api_path), f"GET {syn.user_api_path}")
    assert after.status == 401, f"after sign-out {syn.user_api_path} answered {after.status}, expected 401"
    assert session, f"the signed-in browser held no {SESSION_COOKIE} cookie to check revocation with"
    copied = new_context()
    copied.add_cookies(session)  # type: ignore[arg-type]
    replay, _ = retry_cut(lambda: copied.request.get(syn.user_api_path), f"GET {syn.user_api_path}")
    assert replay.status == 401, (
        f"the session cookie from before sign-out still works ({syn.user_api_path} answered {replay.status}): "
        "sign-out only deleted the cookie, the session was not ended server-side"
    )


@pytest.mark.safe
@pytest.mark.check(severity="critical", feature="sign-in")
def test_dashboard_redirects_signed_out_visitor(target: Target, new_context: ContextFactory) -> None:
    syn = target.synthetic
    page = new_context().new_page()
    response = goto(page, syn.dashboard_path)
    landed = urlsplit(page.url)
    shown = page.locator(syn.user_name_selector).count()
    assert landed.path == syn.sign_in_path and not shown, (
        f"{syn.dashboard_path} visited signed out ended on {landed.path} with HTTP "
        f"{response.status if response else '?'} (dashboard shown: {bool(shown)}), expected a redirect to "
        f"{syn.sign_in_path}"
    )


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="sign-in")
def test_tampered_state_is_rejected(
    target: Target, new_context: ContextFactory, test_account: tuple[str, str], check_record: Any
) -> None:
    syn, provider = target.synthetic, _journey_provider(target, check_record)
    context = new_context()
    page = context.new_page()
    callback = urlsplit(reach_callback(page, syn, provider, target.base_url, *test_account))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    params["state"] = secrets.token_urlsafe(32)
    response = goto(page, urlunsplit(callback._replace(query=urlencode(params))))
    status = response.status if response else 0
    landed = urlsplit(page.url).path
    signed_in = retry_cut(lambda: context.request.get(syn.user_api_path), f"GET {syn.user_api_path}")[0].status
    assert 400 <= status < 500 and landed != syn.dashboard_path and signed_in == 401, (
        f"a callback with a tampered state answered HTTP {status} on {landed} ({syn.user_api_path}: "
        f"{signed_in}); expected an error page (4xx) and no session"
    )


@pytest.mark.intrusive
@pytest.mark.check(severity="high", feature="sign-in")
def test_replayed_code_is_rejected(
    target: Target, new_context: ContextFactory, test_account: tuple[str, str], check_record: Any
) -> None:
    syn, provider = target.synthetic, _journey_provider(target, check_record)
    page = new_context().new_page()
    result = sign_in(page, syn, provider, target.base_url, *test_account)
    assert result.callback_url, "the sign-in went through no OAuth callback to replay"
    response = goto(page, result.callback_url)
    status = response.status if response else 0
    landed = urlsplit(page.url).path
    assert 400 <= status < 500 and landed != syn.dashboard_path, (
        f"replaying the callback with an already used code answered HTTP {status} on {landed}; "
        "expected an error page (4xx)"
    )
