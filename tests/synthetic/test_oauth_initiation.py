"""OAuth initiation (ops guide: "Test OAuth flows"), for every provider behind a sign-in button.

The button is clicked and the navigation to the provider captured, never followed: no third-party
login is attempted, so these checks are safe against production.  What is checked follows RFC 6749,
RFC 7636 and the OAuth 2.0 Security BCP.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.config import Target
from smokegate.synthetic import oauth
from smokegate.synthetic.config import Provider
from smokegate.synthetic.journey import AuthorizeCapture

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="synthetic")]


@pytest.mark.check(severity="critical", feature="oauth")
def test_button_goes_to_provider(provider: Provider, authorize_urls: AuthorizeCapture, check_record: Any) -> None:
    first, _ = authorize_urls(provider)
    check_record.detail("authorize_url", first.redacted())
    problems = oauth.host_problems(first, provider.authorize_host)
    assert not problems, f"{provider.label}: " + "; ".join(problems) + f" ({first.redacted()})"


@pytest.mark.check(severity="high", feature="oauth")
def test_client_id_is_configured(provider: Provider, authorize_urls: AuthorizeCapture) -> None:
    first, _ = authorize_urls(provider)
    problems = oauth.client_id_problems(first, provider.client_id)
    assert not problems, f"{provider.label}: " + "; ".join(problems)


@pytest.mark.check(severity="critical", feature="oauth")
def test_redirect_uri_is_app_origin(target: Target, provider: Provider, authorize_urls: AuthorizeCapture) -> None:
    first, _ = authorize_urls(provider)
    problems = oauth.redirect_uri_problems(first, target.base_url, provider.redirect_origins)
    assert not problems, f"{provider.label}: " + "; ".join(problems)


@pytest.mark.check(severity="high", feature="oauth")
def test_response_type_is_code(provider: Provider, authorize_urls: AuthorizeCapture) -> None:
    first, _ = authorize_urls(provider)
    problems = oauth.response_type_problems(first)
    assert not problems, f"{provider.label}: " + "; ".join(problems)


@pytest.mark.check(severity="critical", feature="oauth")
def test_state_is_unguessable(provider: Provider, authorize_urls: AuthorizeCapture, check_record: Any) -> None:
    first, second = authorize_urls(provider)
    state = first.get("state")
    check_record.detail("state_length", len(state or ""))
    problems = oauth.state_problems(state, second.get("state"))
    assert not problems, f"{provider.label}: " + "; ".join(problems)


@pytest.mark.check(severity="high", feature="oauth")
def test_code_is_bound_to_browser(provider: Provider, authorize_urls: AuthorizeCapture) -> None:
    first, _ = authorize_urls(provider)
    problems = oauth.binding_problems(first, provider.binding)
    assert not problems, f"{provider.label} ({provider.binding}): " + "; ".join(problems)


@pytest.mark.check(severity="medium", feature="oauth")
def test_scopes_requested(provider: Provider, authorize_urls: AuthorizeCapture) -> None:
    first, _ = authorize_urls(provider)
    problems = oauth.scope_problems(first, provider.scopes)
    assert not problems, f"{provider.label}: " + "; ".join(problems)
