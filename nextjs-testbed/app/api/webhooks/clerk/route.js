import { verifySvix } from "../../../../lib/webhooks";

export const dynamic = "force-dynamic";
const NO_STORE = { "cache-control": "no-store" };

export async function POST(request) {
  const payload = await request.text();
  const problem = verifySvix(payload, request.headers, process.env.CLERK_WEBHOOK_SECRET);
  if (problem) return Response.json({ error: `Webhook Error: ${problem}` }, { status: 400, headers: NO_STORE });
  return Response.json({ received: true }, { headers: NO_STORE });
}
