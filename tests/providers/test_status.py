"""External services verified (deployment checklist): no provider reports a major outage of a component
the platform uses, as its own status page says it (Statuspage's summary.json, Stripe's /current).

A partial outage or degraded performance is recorded (and every incident quotes it as a hint) but
does not fail the gate: the platform's own checks say whether users are affected.  A status page
never passes a check that failed: this check only ever adds a finding.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.config import Target
from smokegate.failures import CheckFailure, FailureKind
from smokegate.providers.config import StatusPage

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="providers")]


@pytest.mark.check(severity="high", feature="external-services")
def test_provider_reports_no_major_outage(
    target: Target, status_page: StatusPage, smokegate_run: Any, check_record: Any
) -> None:
    from smokegate.checks.provider_status import describe
    from smokegate.providers.status import fetch_page

    status = target.providers.status
    report = fetch_page(status_page, ca_bundle=target.ca_bundle, timeout_s=status.timeout_s,
                        cache_s=status.cache_s, on_request=smokegate_run.count_request)
    now = report.fetched_at
    assert now is not None
    # A failure here is the provider's (failure kind third-party): the dependency is named for the incident.
    check_record.detail("dependency", status_page.label)
    check_record.detail("status", {c.wanted: c.status for c in report.components})
    check_record.detail("hints", [describe(c, report.provider, now) for c in report.problems])
    major = report.major
    assert not major, (
        "; ".join(describe(c, report.provider, now) for c in major)
        + f": a component the platform uses is down at the provider ({report.url}); the platform cannot work "
        "fully until the provider recovers (guide: External Services)"
    )
    if report.unreadable or report.missing:
        raise CheckFailure(FailureKind.TEST_SETUP, (
            f"{report.provider}'s status page ({report.url}) "
            + (f"could not be understood: {report.unreadable}" if report.unreadable else
               f"lists no component {', '.join(map(repr, report.missing))}")
            + f" (providers.status.pages[{status_page.name}].components): the page changed or the config names "
              "a component it does not have; an unknown page is never read as a healthy one"))
