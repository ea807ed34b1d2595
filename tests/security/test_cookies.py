"""Cookies a visitor gets on the scanned pages: Secure, HttpOnly (unless allowlisted), SameSite, __Host- rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smokegate.checks import cookies
from smokegate.config import Page
from smokegate.plugin.security_fixtures import PageFetch
from smokegate.security.config import SecurityConfig

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]


def _set_cookies(page: Page, page_answer: PageFetch, check_record: Any) -> list[cookies.SetCookie]:
    parsed = [cookies.parse_set_cookie(h) for h in page_answer(page.path).headers.get_list("set-cookie")]
    check_record.detail("cookies", [c.name for c in parsed])
    return parsed


def _problems(found: list[cookies.SetCookie], problem: Callable[[cookies.SetCookie], str | None],
              check_record: Any) -> list[str]:
    """What is wrong with each cookie; one cookie set wrongly (by the code that sets it on every page) is
    one finding, whichever attributes and pages show it."""
    wrong = [(c.name, p) for c in found if (p := problem(c))]
    if wrong:
        check_record.cause("the code that sets these cookies", *(f"cookie:{name}" for name, _ in wrong))
    return [p for _, p in wrong]


@pytest.mark.check(severity="high", feature="cookies")
def test_cookies_are_secure(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    problems = _problems(_set_cookies(scan_page, page_answer, check_record), cookies.secure_problem, check_record)
    assert not problems, f"{scan_page.path}: " + "; ".join(problems)


@pytest.mark.check(severity="high", feature="cookies")
def test_session_cookies_are_httponly(
    scan_page: Page, page_answer: PageFetch, security: SecurityConfig, check_record: Any
) -> None:
    allow = security.cookies.script_readable
    problems = _problems(_set_cookies(scan_page, page_answer, check_record),
                         lambda c: cookies.httponly_problem(c, allow), check_record)
    assert not problems, f"{scan_page.path}: " + "; ".join(problems) + f" (allowlist: {', '.join(allow)})"


@pytest.mark.check(severity="medium", feature="cookies")
def test_cookies_have_samesite(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    problems = _problems(_set_cookies(scan_page, page_answer, check_record), cookies.samesite_problem, check_record)
    assert not problems, f"{scan_page.path}: " + "; ".join(problems)


@pytest.mark.check(severity="medium", feature="cookies")
def test_host_prefixed_cookies_are_host_only(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    problems = _problems(_set_cookies(scan_page, page_answer, check_record), cookies.host_prefix_problem,
                         check_record)
    assert not problems, f"{scan_page.path}: " + "; ".join(problems)
