"""Payments, from Stripe's own API: the deployment's webhook endpoint is registered and enabled, the
events whose delivery failed in the last 24 h stay under the threshold (the guide's security alert
"Payment Processing Errors"), and payments succeed (the daily report's "Revenue: payment processing
success", with its trend).  Charges and events are counted by status only: no amount, customer,
card or email is read or kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smokegate.config import Target

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="providers")]
DAY = timedelta(hours=24)


@pytest.mark.check(severity="high", feature="payment-settings")
def test_webhook_endpoint_enabled(target: Target, stripe_rest: Any, check_record: Any) -> None:
    from smokegate.checks.provider_state import endpoint_for
    from smokegate.providers.apis import stripe_endpoints

    cfg = target.providers.stripe
    url = cfg.endpoint_url(target.base_url)
    endpoints = stripe_endpoints(stripe_rest, cfg)
    endpoint = endpoint_for(endpoints, url)
    assert endpoint is not None, (
        f"Stripe has no webhook endpoint for {url} ({len(endpoints)} registered; providers.stripe.webhook_url): "
        "payments complete at Stripe but the platform never hears of them (guide: Verify Stripe webhook "
        "configuration)"
    )
    status = endpoint.get("status")
    check_record.detail("endpoint_status", status)
    assert status == "enabled", (
        f"Stripe's webhook endpoint for {url} is {status!r}, not enabled: Stripe sends it nothing (Stripe "
        "disables an endpoint that keeps failing); re-enable it once the receiver answers 2xx"
    )


@pytest.mark.check(severity="high", feature="payments")
def test_failed_deliveries_under_threshold(target: Target, stripe_rest: Any, check_record: Any) -> None:
    from smokegate.providers.apis import stripe_failed_deliveries

    cfg = target.providers.stripe
    failed, more = stripe_failed_deliveries(stripe_rest, cfg, datetime.now(UTC) - DAY)
    check_record.detail("lower_bound", more)
    check_record.detail("figures", {"payments.failed_deliveries": failed})
    assert failed <= cfg.max_failed_deliveries, (
        f"Payment Processing Errors: {'at least ' if more else ''}{failed} Stripe events of the last 24 h were not "
        f"delivered (pending or failed at every endpoint) > {cfg.max_failed_deliveries} "
        "(providers.stripe.max_failed_deliveries): subscriptions and payments are not recorded by the platform; "
        "check the webhook receiver's logs and Stripe's delivery attempts"
    )


@pytest.mark.check(severity="medium", feature="payments")
def test_payment_success_rate(target: Target, stripe_rest: Any, check_record: Any) -> None:
    from smokegate.providers.apis import stripe_payments

    cfg = target.providers.stripe
    counts = stripe_payments(stripe_rest, cfg, datetime.now(UTC) - DAY)
    check_record.detail("figures", {"payments.succeeded": counts.succeeded, "payments.failed": counts.failed,
                                    "payments.success_ratio": counts.ratio})
    check_record.detail("lower_bound", counts.more)
    ratio = counts.ratio
    if counts.attempts < cfg.min_payments or ratio is None:
        check_record.detail("judged", False)
        return  # too few payments for a ratio to mean anything; the figures still go to the daily report
    assert ratio >= cfg.min_success_ratio, (
        f"{counts.succeeded} of {counts.attempts} charges of the last 24 h succeeded ({100 * ratio:.1f} %) < "
        f"{100 * cfg.min_success_ratio:g} % (providers.stripe.min_success_ratio; {counts.failed} failed): "
        "payments are being declined or erroring (guide: Payment Processing Issues)"
    )
