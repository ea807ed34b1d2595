"""Webhooks: forged, unsigned and replayed deliveries are refused with 400; GET is 405."""

from __future__ import annotations

import pytest

from smokegate.checks import forged_webhooks as webhooks
from smokegate.config import Target
from smokegate.plugin.security_fixtures import webhook_secret
from smokegate.probe import Probe
from smokegate.security.config import Webhook

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]


@pytest.mark.check(severity="critical", feature="webhooks")
def test_webhook_rejects_forged_delivery(security_probe: Probe, target: Target, webhook: Webhook, attack: str) -> None:
    secret = None
    if attack == "stale-timestamp":
        secret = webhook_secret(target, webhook.secret_env)
        if secret is None:
            pytest.skip(f"{webhook.secret_env} is not set: a stale replay needs the real signing secret")
    delivery = webhooks.delivery(webhook.kind, attack, secret)
    answer = security_probe.request("POST", webhook.path, content=delivery.body, headers=delivery.headers)
    assert answer.status == 400, (
        f"POST {webhook.path} ({webhook.kind}, {attack}) answered {answer.status}; expected exactly 400"
        + (": the forged event was accepted" if 200 <= answer.status < 300 else "")
    )


@pytest.mark.check(severity="low", feature="webhooks")
def test_webhook_refuses_get(security_probe: Probe, webhook: Webhook) -> None:
    answer = security_probe.get(webhook.path)
    assert answer.status == 405, f"GET {webhook.path} answered {answer.status}; a webhook receiver takes POST only"
