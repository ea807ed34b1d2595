"""Forged webhook deliveries: what an attacker (or a replay) sends to a webhook receiver.

Signatures are computed with the real libraries, so a well-formed header made with a wrong secret
is exactly what Stripe or Clerk would send, only signed with another key: ``stripe``'s, and for
Clerk's Svix deliveries ``standardwebhooks``, the signing scheme ``svix.webhooks.Webhook`` wraps
(importing ``svix`` loads its whole API client, half a second of every run; the testbed verifies
the same way, proven to agree with ``svix`` itself, the platform's verifier).  Every attack here must
be refused with 400.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

ATTACKS = ("unsigned", "zero-signature", "wrong-secret", "stale-timestamp")
STALE_S = 600


@dataclass(frozen=True)
class Delivery:
    body: str
    headers: dict[str, str]
    # Whether the forged delivery used the receiver's real secret (only the stale replay does).
    needs_secret: bool = False


def _stripe_event() -> str:
    return json.dumps({
        "id": f"evt_smokegate_{secrets.token_hex(8)}", "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "type": "checkout.session.completed", "livemode": False,
        "data": {"object": {"id": f"cs_smokegate_{secrets.token_hex(6)}", "object": "checkout.session"}},
    })


def _clerk_event() -> str:
    return json.dumps({
        "type": "user.created", "object": "event",
        "data": {"id": f"user_smokegate_{secrets.token_hex(6)}", "email_addresses": []},
    })


def random_svix_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def random_stripe_secret() -> str:
    return "whsec_" + secrets.token_hex(16)


def stripe_delivery(attack: str, secret: str | None = None) -> Delivery:
    import stripe  # imported by the checks that sign, not by every pytest start-up

    body = _stripe_event()
    now = int(time.time())
    headers = {"content-type": "application/json"}
    if attack == "unsigned":
        return Delivery(body, headers)
    if attack == "zero-signature":
        return Delivery(body, {**headers, "stripe-signature": f"t={now},v1={'0' * 64}"})
    if attack == "wrong-secret":
        header = stripe.WebhookSignature.generate_signature_header(body, random_stripe_secret(), now)
        return Delivery(body, {**headers, "stripe-signature": header})
    if attack == "stale-timestamp":
        if secret is None:
            raise ValueError("a stale replay needs the real signing secret")
        header = stripe.WebhookSignature.generate_signature_header(body, secret, now - STALE_S)
        return Delivery(body, {**headers, "stripe-signature": header}, needs_secret=True)
    raise ValueError(f"unknown webhook attack {attack!r}")


def svix_delivery(attack: str, secret: str | None = None) -> Delivery:
    from standardwebhooks.webhooks import Webhook as SvixWebhook  # svix's own signer (module docstring)

    body = _clerk_event()
    msg_id = f"msg_smokegate{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    headers = {"content-type": "application/json", "svix-id": msg_id}
    if attack == "unsigned":
        return Delivery(body, {**headers, "svix-timestamp": str(int(now.timestamp()))})
    if attack == "zero-signature":
        zero = base64.b64encode(bytes(32)).decode()
        return Delivery(body, {**headers, "svix-timestamp": str(int(now.timestamp())), "svix-signature": f"v1,{zero}"})
    if attack == "wrong-secret":
        signature = SvixWebhook(random_svix_secret()).sign(msg_id, now, body)
        return Delivery(body, {**headers, "svix-timestamp": str(int(now.timestamp())), "svix-signature": signature})
    if attack == "stale-timestamp":
        if secret is None:
            raise ValueError("a stale replay needs the real signing secret")
        stale = datetime.fromtimestamp(now.timestamp() - STALE_S, UTC)
        signature = SvixWebhook(secret).sign(msg_id, stale, body)
        return Delivery(body, {**headers, "svix-timestamp": str(int(stale.timestamp())), "svix-signature": signature},
                        needs_secret=True)
    raise ValueError(f"unknown webhook attack {attack!r}")


def signed_delivery(kind: str, secret: str) -> Delivery:
    """A correctly signed, current delivery: what the real provider sends (self-tests use it)."""
    import stripe
    from standardwebhooks.webhooks import Webhook as SvixWebhook  # svix's own signer (module docstring)

    if kind == "stripe":
        body = _stripe_event()
        return Delivery(body, {"content-type": "application/json",
                               "stripe-signature": stripe.WebhookSignature.generate_signature_header(body, secret)})
    body = _clerk_event()
    msg_id = f"msg_smokegate{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    return Delivery(body, {"content-type": "application/json", "svix-id": msg_id,
                           "svix-timestamp": str(int(now.timestamp())),
                           "svix-signature": SvixWebhook(secret).sign(msg_id, now, body)})


def delivery(kind: str, attack: str, secret: str | None = None) -> Delivery:
    return stripe_delivery(attack, secret) if kind == "stripe" else svix_delivery(attack, secret)
