"""Judging authorize URLs: each rule on a sound URL and on the mistake it exists for."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest

from smokegate.synthetic import oauth

APP = "https://napoleonai.app"


def _url(host: str = "accounts.google.com", **params: str) -> oauth.AuthorizeUrl:
    base = {
        "client_id": "cid",
        "redirect_uri": f"{APP}/sso-callback",
        "response_type": "code",
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(32),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    base.update(params)
    return oauth.AuthorizeUrl.parse(f"https://{host}/o/oauth2/v2/auth?{urlencode(base)}")


def test_sound_url_has_no_problems() -> None:
    url = _url()
    assert oauth.host_problems(url, "accounts.google.com") == []
    assert oauth.client_id_problems(url, "cid") == []
    assert oauth.response_type_problems(url) == []
    assert oauth.redirect_uri_problems(url, APP) == []
    assert oauth.binding_problems(url, "pkce") == []
    assert oauth.scope_problems(url, ("openid", "email")) == []


def test_lookalike_host_is_named() -> None:
    problems = oauth.host_problems(_url("accounts.google.com.evil.example"), "accounts.google.com")
    assert problems == ["authorize host is 'accounts.google.com.evil.example', expected 'accounts.google.com'"]


@pytest.mark.parametrize(
    ("redirect", "allowed", "ok"),
    [
        (f"{APP}/cb", (), True),
        ("https://clerk.napoleonai.app/v1/oauth_callback", ("https://clerk.napoleonai.app",), True),
        ("https://clerk.napoleonai.app/v1/oauth_callback", (), False),
        ("http://napoleonai.app/cb", (), False),
        ("https://napoleonai.app.evil.example/cb", (), False),
        ("https://napoleonai.app:8443/cb", (), False),
    ],
)
def test_redirect_uri_must_be_the_apps_https_origin(redirect: str, allowed: tuple[str, ...], ok: bool) -> None:
    assert (oauth.redirect_uri_problems(_url(redirect_uri=redirect), APP, allowed) == []) is ok


def test_state_rules() -> None:
    fresh = secrets.token_urlsafe(32)
    assert oauth.state_problems(fresh, secrets.token_urlsafe(32)) == []
    assert "missing" in oauth.state_problems(None, None)[0]
    assert any("at least 16" in p for p in oauth.state_problems("abc123", "def456"))
    assert any("same on two attempts" in p for p in oauth.state_problems(fresh, fresh))
    assert any("distinct" in p for p in oauth.state_problems("aaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaab"))


def test_state_of_a_csprng_is_unguessable_every_time() -> None:
    """No false alarm on 500 real random states (the distinct-character rule is not flaky)."""
    for _ in range(500):
        first, second = secrets.token_urlsafe(16), secrets.token_hex(16)
        assert oauth.state_problems(first, second) == []


def test_binding_pkce_and_nonce() -> None:
    assert "missing" in oauth.binding_problems(_url(code_challenge="", code_challenge_method=""), "pkce")[0]
    assert any("S256" in p for p in oauth.binding_problems(_url(code_challenge_method="plain"), "pkce"))
    assert oauth.binding_problems(_url(nonce=secrets.token_urlsafe(24)), "nonce") == []
    assert "nonce" in oauth.binding_problems(_url(), "nonce")[0]


def test_missing_scope_and_implicit_flow() -> None:
    assert oauth.scope_problems(_url(scope="openid profile"), ("openid", "email")) == [
        "scope 'openid profile' lacks email"
    ]
    assert oauth.response_type_problems(_url(response_type="token"))


def test_redacted_url_hides_state_and_challenge() -> None:
    url = _url(state="s3cr3t-state-value-123456")
    assert "s3cr3t" not in url.redacted() and "client_id=cid" in url.redacted()
