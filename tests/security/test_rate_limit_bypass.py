"""Rate limiting (ops guide: "Rate limiting active"): the limit must not lift for a header the client controls.

Intrusive: right after the rate-limit burst's first 429, one request per client-IP header
(X-Forwarded-For, X-Real-IP, True-Client-IP, CF-Connecting-IP) with a documentation address, and
one without it after any that got through: at most 8 requests.  A window that ends between two
attempts lifts the limit on its own; the limit is then built up again (a burst until its next 429,
at most twice) and the header tried once more, so the check judges rather than skips.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.failures import Inconclusive
from smokegate.security.config import SecurityConfig
from smokegate.security.ratelimit_run import RateLimitRun, first_429

pytestmark = [pytest.mark.intrusive, pytest.mark.check(epic="security")]


@pytest.mark.check(severity="high", feature="rate-limit")
def test_limit_not_bypassed_by_client_ip_headers(
    rate_limit_run: RateLimitRun, security: SecurityConfig, check_record: Any
) -> None:
    limit = security.rate_limit
    attempts = rate_limit_run.bypass
    check_record.detail("bypass_attempts", [a.as_dict() for a in attempts])
    if not attempts:
        # No 429 to start from: nothing was tried, and the burst's finding (or why it could not tell) is this
        # check's too, under one cause; never a pass for a bypass nobody tried.
        first_429(rate_limit_run.burst, limit, check_record)
        broke = rate_limit_run.burst.errors
        raise Inconclusive(f"no bypass was tried on {limit.path}: the burst broke off ({broke[0] if broke else '?'})")
    bypassed = [a for a in attempts if a.verdict == "bypassed"]
    assert not bypassed, (
        f"{limit.method} {limit.path} is rate limited per a header the client controls: after the first 429, "
        + "; ".join(f"{a.header}: {a.value} answered {a.status} while the next request without it got 429"
                    for a in bypassed)
        + ". One client can rotate it and never be limited"
    )
    if not any(a.verdict == "held" for a in attempts):
        last = attempts[-1]
        if last.error:
            raise Inconclusive(f"the bypass attempts to {limit.path} failed: {last.error}")
        pytest.skip(f"not judged: the limit on {limit.path} lifted on its own before a header could be tried")
