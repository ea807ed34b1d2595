"""Webhook receivers as the platform implements them: Stripe (stripe library) and Clerk (svix).

A delivery is processed, and recorded as an event the self-tests can read, only when its signature
verifies with the real secret and a timestamp within 5 minutes.  Everything else is a 400, as the
Stripe and Svix docs prescribe.

Clerk's deliveries are verified as ``svix.webhooks.Webhook.verify`` does it: its ``svix-*`` headers
read as the Standard Webhooks ``webhook-*`` ones, then ``standardwebhooks``' verifier, which svix
wraps.  Importing ``svix`` itself loads its whole API client (0.66 s of every testbed's start, about
thirty starts a make test); selftests/security/test_webhook_receivers.py proves this verifier and
svix's agree on every delivery the suite sends.
"""

from __future__ import annotations

import json

import stripe
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smokegate.testbed.context import Testbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS

TOLERANCE_S = 300
NO_STORE = {"cache-control": "no-store"}


def verify_svix(secret: str, payload: bytes, headers: dict[str, str]) -> None:
    """``svix.webhooks.Webhook(secret).verify(payload, headers)``: raises WebhookVerificationError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("id", "signature", "timestamp"):
        lowered[f"webhook-{name}"] = lowered.get(f"svix-{name}", lowered.get(f"webhook-{name}", ""))
    StandardWebhook(secret).verify(payload, lowered, json_parse=False)


def _bad(reason: str) -> Response:
    return JSONResponse({"error": f"Webhook Error: {reason}"}, status_code=400, headers=NO_STORE)


def routes(tb: Testbed) -> list[BaseRoute]:
    async def stripe_webhook(request: Request) -> Response:
        if request.method == "GET":
            # The webhook-get-handler fault: a leftover "is it alive?" GET handler.
            if tb.state.on("webhook-get-handler"):
                return JSONResponse({"ok": True, "handler": "stripe"}, headers=NO_STORE)
            return JSONResponse({"error": "Method Not Allowed"}, status_code=405, headers={"allow": "POST"})
        payload = await request.body()
        signature = request.headers.get("stripe-signature")
        if signature is None and tb.state.on("webhook-unsigned"):
            # The classic bug: verification only runs when a signature header is present.
            event = json.loads(payload)
            tb.state.record("webhook", provider="stripe", id=event.get("id"), type=event.get("type"), verified=False)
            return JSONResponse({"received": True}, headers=NO_STORE)
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, FAKE_SECRETS["STRIPE_WEBHOOK_SECRET"], tolerance=TOLERANCE_S
            )
        except ValueError:
            return _bad("invalid payload")
        except stripe.SignatureVerificationError:
            return _bad("signature verification failed")
        tb.state.record("webhook", provider="stripe", id=event["id"], type=event["type"], verified=True)
        return JSONResponse({"received": True}, headers=NO_STORE)

    async def clerk_webhook(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"error": "Method Not Allowed"}, status_code=405, headers={"allow": "POST"})
        payload = await request.body()
        try:
            # The signature and a 5-minute timestamp window.
            verify_svix(FAKE_SECRETS["CLERK_WEBHOOK_SECRET"], payload, dict(request.headers))
        except WebhookVerificationError:
            return _bad("signature verification failed")
        event = json.loads(payload)
        tb.state.record("webhook", provider="clerk", id=request.headers.get("svix-id"), type=event.get("type"),
                        verified=True)
        return JSONResponse({"received": True}, headers=NO_STORE)

    return [
        Route("/api/webhooks/stripe", stripe_webhook, methods=["GET", "POST"]),
        Route("/api/webhooks/clerk", clerk_webhook, methods=["GET", "POST"]),
    ]
