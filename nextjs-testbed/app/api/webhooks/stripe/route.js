import { readFaults } from "../../../../lib/faults";
import { verifyStripe } from "../../../../lib/webhooks";

export const dynamic = "force-dynamic";
const NO_STORE = { "cache-control": "no-store" };

export async function POST(request) {
  const payload = await request.text();
  const signature = request.headers.get("stripe-signature");
  if (signature === null && readFaults().active.has("webhook-unsigned")) {
    // The classic bug: verification only runs when a signature header is present.
    return Response.json({ received: true }, { headers: NO_STORE });
  }
  const problem = verifyStripe(payload, signature, process.env.STRIPE_WEBHOOK_SECRET);
  if (problem) return Response.json({ error: `Webhook Error: ${problem}` }, { status: 400, headers: NO_STORE });
  try {
    JSON.parse(payload);
  } catch {
    return Response.json({ error: "Webhook Error: invalid payload" }, { status: 400, headers: NO_STORE });
  }
  return Response.json({ received: true }, { headers: NO_STORE });
}

export async function GET() {
  // The webhook-get-handler fault: a leftover "is it alive?" GET handler.
  if (readFaults().active.has("webhook-get-handler")) return Response.json({ ok: true, handler: "stripe" }, { headers: NO_STORE });
  return Response.json({ error: "Method Not Allowed" }, { status: 405, headers: { allow: "POST" } });
}
