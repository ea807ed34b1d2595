"""Access control: protected routes without a session, with an expired token and with an alg-none token."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import jwt, urls
from smokegate.plugin.security_fixtures import fresh
from smokegate.probe import Exchange, Probe
from smokegate.security.config import ProtectedRoute, SecurityConfig

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]


def _cause(check_record: Any, path: str, credential: str) -> None:
    """An open route fails for every credential, and one token check that trusts alg: none fails on
    every route: either way, one finding (the route's guard, or the session verification)."""
    keys = [f"access-control:{path}"] + (["session-verification:alg-none"] if credential == "alg-none" else [])
    check_record.cause("the guard in front of the protected routes", *keys)


def _token(credential: str) -> str | None:
    if credential == "no-session":
        return None
    if credential == "expired-token":
        return jwt.expired_token()
    return jwt.alg_none_token(jwt.session_claims(3600))


def _ask(probe: Probe, route: ProtectedRoute, credential: str, security: SecurityConfig, accept: str) -> Exchange:
    token = _token(credential)
    headers = {"accept": accept}
    if token is not None:
        # As the browser sends it: Clerk's session cookie (the jar is emptied so nothing else rides along).
        headers["cookie"] = f"{security.cookies.session_cookie}={token}"
    return fresh(probe).request(route.method, route.path, headers=headers)


@pytest.mark.check(severity="critical", feature="access-control")
def test_protected_api_refuses(
    security_probe: Probe, protected_api: ProtectedRoute, credential: str, security: SecurityConfig, check_record: Any
) -> None:
    _cause(check_record, protected_api.path, credential)
    answer = _ask(security_probe, protected_api, credential, security, "application/json")
    assert answer.status in (401, 403, 404), (
        f"{protected_api.method} {protected_api.path} with {credential} answered {answer.status}"
        f"{' with ' + str(len(answer.text)) + ' bytes of data' if answer.status < 300 else ''}; "
        "expected 401, 403 or 404"
    )


@pytest.mark.check(severity="critical", feature="access-control")
def test_protected_page_redirects_to_sign_in(
    security_probe: Probe, protected_page: ProtectedRoute, credential: str, security: SecurityConfig, check_record: Any
) -> None:
    _cause(check_record, protected_page.path, credential)
    answer = _ask(security_probe, protected_page, credential, security, "text/html")
    location = answer.headers.get("location", "")
    landing = urls.parse(urls.resolve(answer.url, location))  # resolved as the browser resolves it
    assert 300 <= answer.status < 400 and landing is not None and landing.path == security.sign_in_path, (
        f"{protected_page.path} with {credential} answered {answer.status}"
        f"{f' to {location}' if location else ''}; expected a redirect to {security.sign_in_path}"
    )
