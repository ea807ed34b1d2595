"""Rate limiting (ops guide: "Rate limiting active"): a bounded burst must be limited, and the 429 done right.

Intrusive: one burst of at most twice the limit and one requests (hard cap 150, 5 in flight) per run,
stopping at the first 429, shared by the checks below; then one request after the advertised wait, which runs
out in the background while the other checks run (the check judging it is ordered last).
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import leaks, ratelimit
from smokegate.checks.ratelimit import Burst
from smokegate.failures import FailureKind, Inconclusive
from smokegate.probe import Exchange
from smokegate.security.config import SecurityConfig
from smokegate.security.ratelimit_run import Lift, first_429, no_limit_cause

pytestmark = [pytest.mark.intrusive, pytest.mark.check(epic="security")]


@pytest.mark.check(severity="high", feature="rate-limit")
def test_burst_is_rate_limited(rate_limit_burst: Burst[Exchange], security: SecurityConfig, check_record: Any) -> None:
    limit = security.rate_limit
    burst = rate_limit_burst
    check_record.measure(burst.limited_at or burst.sent, limit.cap, unit="requests", requests_sent=burst.sent,
                         statuses=sorted(set(burst.statuses)), not_sent=len(burst.not_sent),
                         burst_s=round(burst.span_s, 2))
    assert not burst.errors, f"the burst to {limit.path} broke off: {burst.errors[0]}"
    if burst.first_429 is None:
        no_limit_cause(check_record, limit)
    why = ratelimit.undetermined(burst, limit.limit, limit.window_s)
    if why is not None:
        raise Inconclusive(f"whether {limit.path} is rate limited: {why}",
                           ratelimit.undetermined_kind(burst, limit.limit))
    assert burst.limited_at is not None, (
        f"{burst.sent} requests to {limit.method} {limit.path} (limit {limit.limit}, cap {limit.cap}) "
        f"got no 429; statuses {sorted(set(burst.statuses))}"
    )


@pytest.mark.check(severity="medium", feature="rate-limit")
def test_429_says_when_to_retry(
    rate_limit_burst: Burst[Exchange], security: SecurityConfig, check_record: Any
) -> None:
    answer = first_429(rate_limit_burst, security.rate_limit, check_record)
    retry_after = ratelimit.parse_retry_after(answer.headers.get("retry-after"))
    reset = ratelimit.parse_ratelimit_reset(answer.headers)
    assert retry_after is not None or reset is not None, (
        f"the 429 from {security.rate_limit.path} has Retry-After {answer.headers.get('retry-after')!r} and "
        f"RateLimit {answer.headers.get('ratelimit')!r}: a client cannot tell when to retry"
    )


@pytest.mark.check(severity="medium", feature="rate-limit")
def test_429_is_private_and_clean(
    rate_limit_burst: Burst[Exchange], security: SecurityConfig, check_record: Any
) -> None:
    answer = first_429(rate_limit_burst, security.rate_limit, check_record)
    cacheable = ratelimit.publicly_cacheable(answer.headers.get("cache-control"))
    assert cacheable is None, f"the 429 from {security.rate_limit.path} may be cached by a CDN ({cacheable})"
    trace = leaks.stack_trace(answer.text)
    assert trace is None, f"the 429 from {security.rate_limit.path} shows a {trace}"


# Ordered last, and under xdist a unit of its own that may run on any worker (smokegate.plugin.security_fixtures).
@pytest.mark.check(severity="medium", feature="rate-limit")
def test_limit_lifts_after_retry_after(
    rate_limit_lift: Lift, rate_limit_burst: Burst[Exchange], security: SecurityConfig, check_record: Any
) -> None:
    limit = security.rate_limit
    # The wait ran out in the background while the other checks ran (smokegate.security.ratelimit_run).
    check_record.add_requests(rate_limit_lift.requests)
    check_record.detail("waited_s", rate_limit_lift.waited_s)
    first_429(rate_limit_burst, limit, check_record)  # no 429, nothing to lift: never a pass
    rate_limit_lift.raise_error()
    status = rate_limit_lift.status
    if status == 429 and rate_limit_lift.advertised_s is not None:
        # Asked again before the wait the 429 itself announced: its 429 now proves nothing.
        raise Inconclusive(
            f"whether the limit on {limit.path} lifts: its 429 asked for {rate_limit_lift.advertised_s:.0f} s, "
            f"longer than the {limit.max_wait_s:.0f} s the check may wait (max_wait_s)", FailureKind.INTERCEPTED)
    assert status is not None and status != 429 and status < 500, (
        f"{limit.path} still answers {status} after waiting {rate_limit_lift.waited_s:.0f} s "
        f"(cap {limit.max_wait_s:.0f} s)"
    )
