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
