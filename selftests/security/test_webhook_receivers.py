"""The testbed's webhook receivers: forged deliveries are refused and leave no processed event.

The security suite can only see status codes; here the testbed's event record proves that a
refused delivery was really not processed, and that a correctly signed one is (so the record works).
"""

from __future__ import annotations

import ssl

import httpx
import pytest

from smokegate.checks import forged_webhooks as webhooks
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS

pytestmark = pytest.mark.selftest_slow

RECEIVERS = (("stripe", "/api/webhooks/stripe", "STRIPE_WEBHOOK_SECRET"),
             ("svix", "/api/webhooks/clerk", "CLERK_WEBHOOK_SECRET"))


@pytest.mark.parametrize(("kind", "path", "secret_env"), RECEIVERS, ids=["stripe", "clerk"])
def test_forged_deliveries_are_not_processed(
    healthy_testbed: RunningTestbed, kind: str, path: str, secret_env: str
) -> None:
    secret = FAKE_SECRETS[secret_env]
    trust = ssl.create_default_context(cafile=healthy_testbed.ca_file)
    with httpx.Client(base_url=healthy_testbed.url, verify=trust, timeout=10, trust_env=False) as client:
        for attack in webhooks.ATTACKS:
            delivery = webhooks.delivery(kind, attack, secret)
            answer = client.post(path, content=delivery.body, headers=delivery.headers)
            assert answer.status_code == 400, f"{kind} {attack}: {answer.status_code} {answer.text}"
        assert [e for e in healthy_testbed.events() if e["kind"] == "webhook"] == []
        good = webhooks.signed_delivery(kind, secret)
        assert client.post(path, content=good.body, headers=good.headers).status_code == 200
    processed = [e for e in healthy_testbed.events() if e["kind"] == "webhook"]
    assert len(processed) == 1 and processed[0]["verified"] is True


def test_unsigned_fault_processes_the_forgery(testbed: RunningTestbed) -> None:
    testbed.set_faults(["webhook-unsigned"])
    try:
        delivery = webhooks.delivery("stripe", "unsigned")
        answer = httpx.post(testbed.url + "/api/webhooks/stripe", content=delivery.body, headers=delivery.headers,
                            verify=ssl.create_default_context(cafile=testbed.ca_file), timeout=10, trust_env=False)
        assert answer.status_code == 200
        assert [e["verified"] for e in testbed.events() if e["kind"] == "webhook"] == [False]
    finally:
        testbed.set_faults([])


def test_the_testbeds_clerk_verifier_agrees_with_svix() -> None:
    """The testbed verifies Clerk's deliveries without importing svix (testbed/webhooks.py): svix's own
    Webhook.verify, the platform's, accepts and refuses exactly what it does, for every delivery the suite
    sends and a signed one, with header names in any case."""
    from standardwebhooks.webhooks import WebhookVerificationError
    from svix.webhooks import Webhook as SvixWebhook

    from smokegate.testbed.webhooks import verify_svix

    secret = FAKE_SECRETS["CLERK_WEBHOOK_SECRET"]
    deliveries = [webhooks.delivery("svix", attack, secret) for attack in webhooks.ATTACKS]
    deliveries.append(webhooks.signed_delivery("svix", secret))
    verdicts = []
    for delivery in deliveries:
        for headers in (delivery.headers, {name.upper(): value for name, value in delivery.headers.items()}):
            outcomes = []
            for verify in (lambda b, h: SvixWebhook(secret).verify(b, h), lambda b, h: verify_svix(secret, b, h)):
                try:
                    verify(delivery.body.encode(), dict(headers))
                    outcomes.append("accepted")
                except WebhookVerificationError:
                    outcomes.append("refused")
            assert outcomes[0] == outcomes[1], f"svix {outcomes[0]}, the testbed {outcomes[1]}: {headers}"
            verdicts.append(outcomes[0])
    assert verdicts.count("accepted") == 2 and verdicts.count("refused") == 2 * len(webhooks.ATTACKS), verdicts
