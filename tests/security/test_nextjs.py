"""Next.js's own holes: the middleware bypass (CVE-2025-29927) and the image optimizer as an open proxy.

Each protected page and API is asked again with the ``x-middleware-subrequest`` values scanners send:
it must refuse exactly as it does without them.  The image optimizer must refuse a URL on a host
outside ``images.remotePatterns`` (one that cannot resolve: nothing but the target is ever reached).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from smokegate.checks import nextjs_holes as nextjs
from smokegate.failures import Inconclusive
from smokegate.plugin.security_fixtures import fresh
from smokegate.probe import Exchange, Probe
from smokegate.security.config import ProtectedRoute, SecurityConfig

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security", feature="nextjs")]


def _ask(probe: Probe, route: ProtectedRoute, accept: str, subrequest: str | None) -> Exchange:
    headers = {"accept": accept}
    if subrequest is not None:
        headers["x-middleware-subrequest"] = subrequest
    return fresh(probe).request(route.method, route.path, headers=headers)


def _admitted(route: ProtectedRoute, answers: list[tuple[str, Exchange]], refused: Any) -> list[str]:
    return [f"{value if len(value) <= 40 else value[:37] + '...'!r} -> {answer.status}"
            for value, answer in answers if not refused(answer)]


def _bypass(probe: Probe, route: ProtectedRoute, accept: str, refused: Any, check_record: Any) -> None:
    baseline = _ask(probe, route, accept, None)
    if not refused(baseline):
        # Open without the header too: that is the access-control check's finding, not this one's.
        pytest.skip(f"{route.path} is not refused without a session either (test_access_control reports it)")
    # One cause on every protected route: the framework's middleware trusting the header (fixed by an
    # upgrade of Next.js, which the advisory check names too when it can read the version).
    check_record.cause("the Next.js middleware trusting x-middleware-subrequest", "middleware-bypass",
                       "framework:next")
    answers = [(value, _ask(probe, route, accept, value)) for value in nextjs.SUBREQUEST_VALUES]
    check_record.detail("answers", {value[:40]: answer.status for value, answer in answers})
    admitted = _admitted(route, answers, refused)
    assert not admitted, (
        f"{route.method} {route.path} lets anyone in who sends x-middleware-subrequest (the Next.js middleware "
        f"bypass, CVE-2025-29927; fixed in 15.2.3, 14.2.25, 13.5.9, 12.3.5): {'; '.join(admitted)}; "
        f"without the header it answered {baseline.status}. Upgrade Next.js, and strip the header at the proxy"
    )


@pytest.mark.check(severity="critical")
def test_middleware_bypass_refused_api(security_probe: Probe, protected_api: ProtectedRoute, check_record: Any) -> None:
    _bypass(security_probe, protected_api, "application/json", lambda a: a.status in (401, 403, 404), check_record)


@pytest.mark.check(severity="critical")
def test_middleware_bypass_refused_page(
    security_probe: Probe, protected_page: ProtectedRoute, security: SecurityConfig, check_record: Any
) -> None:
    def refused(answer: Exchange) -> bool:
        location = urlsplit(answer.headers.get("location", "")).path
        return answer.status in (401, 403, 404) or (300 <= answer.status < 400 and location == security.sign_in_path)

    _bypass(security_probe, protected_page, "text/html", refused, check_record)


@pytest.mark.check(severity="high")
def test_image_optimizer_refuses_foreign_url(
    security_probe: Probe, security: SecurityConfig, check_record: Any
) -> None:
    answer = fresh(security_probe).get(security.image_optimizer_path, params=nextjs.IMAGE_PROBE_QUERY)
    verdict = nextjs.judge_image_answer(answer.status, answer.text)
    check_record.detail("answer", verdict.reason)
    if verdict.undetermined:
        raise Inconclusive(f"{security.image_optimizer_path} answered {verdict.reason}")
    assert verdict.refused, (
        f"the image optimizer accepts a URL on a host outside every allowlist ({nextjs.IMAGE_PROBE_URL}): "
        f"{verdict.reason}. images.remotePatterns is open, so the deployment fetches any URL it is given "
        "(a proxy for attackers: SSRF); list the image hosts exactly"
    )
