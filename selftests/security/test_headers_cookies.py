"""Unit tests of smokegate.checks.headers and smokegate.checks.cookies."""

from __future__ import annotations

import pytest

from smokegate.checks import cookies, headers
from smokegate.testbed.security import CSP


def test_testbed_csp_passes_and_reports_unsafe_inline() -> None:
    verdict = headers.check_csp(CSP)
    assert verdict.problems == []
    assert verdict.warnings == ["script-src allows 'unsafe-inline'"]


@pytest.mark.parametrize(("csp", "problem"), [
    (None, "no Content-Security-Policy header"),
    ("default-src 'self' 'unsafe-eval'", "default-src allows 'unsafe-eval'"),
    ("default-src 'self'; script-src 'self' 'unsafe-eval'", "script-src allows 'unsafe-eval'"),
    ("img-src 'self'", "neither script-src nor default-src: scripts are unrestricted"),
])
def test_csp_problems(csp: str | None, problem: str) -> None:
    assert headers.check_csp(csp).problems == [problem]


def test_nonce_makes_unsafe_inline_moot() -> None:
    assert headers.check_csp("script-src 'self' 'nonce-abc' 'unsafe-inline'").warnings == []


def test_framing() -> None:
    assert headers.framing_problem({"content-security-policy": "frame-ancestors 'none'"}) is None
    assert headers.framing_problem({"x-frame-options": "sameorigin"}) is None
    assert headers.framing_problem({"content-security-policy": "frame-ancestors *", "x-frame-options": "DENY"})
    assert headers.framing_problem({}) is not None


@pytest.mark.parametrize(("value", "ok"), [
    ("strict-origin-when-cross-origin", True), ("no-referrer", True), ("unsafe-url, same-origin", True),
    ("same-origin, unsafe-url", False), ("origin-when-cross-origin", False), (None, False),
])
def test_referrer_policy(value: str | None, ok: bool) -> None:
    assert (headers.referrer_policy_problem(value) is None) is ok


@pytest.mark.parametrize(("server", "version"), [
    ("Vercel", None), ("cloudflare", None), ("nginx/1.25.3", "nginx/1.25.3"),
    ("Apache/2.4.41 (Ubuntu)", "Apache/2.4.41 (Ubuntu)"),
])
def test_server_version(server: str, version: str | None) -> None:
    assert headers.server_version(server) == version


def test_hsts() -> None:
    assert headers.hsts_problems("max-age=63072000; includeSubDomains; preload", 31536000, True) == []
    assert headers.hsts_problems("max-age=300", 31536000, True) == [
        "HSTS max-age=300 s < 31536000 s", "HSTS lacks includeSubDomains"]
    assert headers.hsts_problems(None, 1, False) == ["no Strict-Transport-Security header"]
    assert headers.hsts_problems("max-age=abc", 1, False)[0].startswith("Strict-Transport-Security has no valid")


def test_cookie_rules() -> None:
    good = cookies.parse_set_cookie("__Host-csrf=v; Path=/; Secure; HttpOnly; SameSite=Lax")
    assert [cookies.secure_problem(good), cookies.httponly_problem(good, ()), cookies.samesite_problem(good),
            cookies.host_prefix_problem(good)] == [None, None, None, None]
    bad = cookies.parse_set_cookie("sid=v; Path=/")
    assert cookies.secure_problem(bad) and cookies.httponly_problem(bad, ()) and cookies.samesite_problem(bad)
    assert cookies.httponly_problem(cookies.parse_set_cookie("__session=t; Secure"), ("__session",)) is None
    none = cookies.parse_set_cookie("a=1; SameSite=None")
    assert cookies.samesite_problem(none) == "a has SameSite=None without Secure"
    assert cookies.samesite_problem(cookies.parse_set_cookie("a=1; SameSite=None; Secure")) is None
    scoped = cookies.parse_set_cookie("__Host-x=1; Path=/app; Domain=example.com; Secure")
    assert cookies.host_prefix_problem(scoped) == (
        "__Host-x: Path='/app', Domain=example.com (a __Host- cookie needs Path=/, no Domain, Secure)")


def test_cookie_findings_never_carry_values() -> None:
    cookie = cookies.parse_set_cookie("sid=supersecretvalue; Path=/")
    for problem in (cookies.secure_problem(cookie), cookies.httponly_problem(cookie, ()),
                    cookies.samesite_problem(cookie)):
        assert problem is not None and "supersecretvalue" not in problem
