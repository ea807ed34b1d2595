"""Security headers on every scanned page: CSP, framing, nosniff, referrer and permissions policy, no banners."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes, headers
from smokegate.config import Page
from smokegate.plugin.security_fixtures import PageFetch

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]
# Every page's headers come from one place: a header missing everywhere is one finding, not one per page.


@pytest.mark.check(severity="high", feature="headers")
def test_csp_present_without_unsafe_eval(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    verdict = headers.check_csp(page_answer(scan_page.path).headers.get("content-security-policy"))
    if verdict.warnings:
        check_record.detail("csp_warnings", verdict.warnings)
    assert not verdict.problems, f"{scan_page.path}: " + "; ".join(verdict.problems)


@pytest.mark.check(severity="medium", feature="headers")
def test_framing_restricted(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    problem = headers.framing_problem(page_answer(scan_page.path).headers)
    assert problem is None, f"{scan_page.path}: {problem}; expected frame-ancestors or X-Frame-Options DENY"


@pytest.mark.check(severity="medium", feature="headers")
def test_nosniff(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    value = page_answer(scan_page.path).headers.get("x-content-type-options")
    assert (value or "").strip().lower() == "nosniff", (
        f"{scan_page.path}: X-Content-Type-Options is {value!r}; expected 'nosniff'"
    )


@pytest.mark.check(severity="medium", feature="headers")
def test_referrer_policy_strict(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    problem = headers.referrer_policy_problem(page_answer(scan_page.path).headers.get("referrer-policy"))
    assert problem is None, f"{scan_page.path}: {problem}"


@pytest.mark.check(severity="low", feature="headers")
def test_permissions_policy_present(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    value = page_answer(scan_page.path).headers.get("permissions-policy", "")
    assert value.strip(), f"{scan_page.path}: no Permissions-Policy header (camera, microphone, geolocation...)"


@pytest.mark.check(severity="low", feature="headers")
def test_no_x_powered_by(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    value = page_answer(scan_page.path).headers.get("x-powered-by")
    assert value is None, f"{scan_page.path}: X-Powered-By: {value} advertises the framework; turn it off"


@pytest.mark.check(severity="low", feature="headers")
def test_server_header_hides_version(scan_page: Page, page_answer: PageFetch, check_record: Any) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    version = headers.server_version(page_answer(scan_page.path).headers.get("server"))
    assert version is None, f"{scan_page.path}: Server: {version} discloses a version"
