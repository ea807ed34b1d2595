"""Webhook receivers as the platform implements them: Stripe (stripe library) and Clerk (svix).

A delivery is processed, and recorded as an event the self-tests can read, only when its signature
verifies with the real secret and a timestamp within 5 minutes.  Everything else is a 400, as the
Stripe and Svix docs prescribe.
"""

from __future__ import annotations

import json

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError

from smokegate.testbed.context import Testbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS

TOLERANCE_S = 300
NO_STORE = {"cache-control": "no-store"}


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
            # svix checks the signature and a 5-minute timestamp window.
            SvixWebhook(FAKE_SECRETS["CLERK_WEBHOOK_SECRET"]).verify(payload, dict(request.headers))
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
