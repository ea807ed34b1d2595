import { readFaults, sleep } from "../../../../lib/faults";
import { PRIVATE_NO_STORE } from "../../../../lib/plans";
import { SESSION_COOKIE, currentUser } from "../../../../lib/session";

export const dynamic = "force-dynamic";
const AI_LATENCY_MS = 120;
const AI_SLOW_MS = 4000;

export async function POST(request) {
  const faults = readFaults();
  const user = currentUser(request.cookies.get(SESSION_COOKIE)?.value, request.headers.get("authorization"), faults);
  if (user === null) return Response.json({ error: "Unauthorized" }, { status: 401, headers: PRIVATE_NO_STORE });
  let body = null;
  try {
    body = await request.json();
  } catch {
    body = null;
  }
  const text = body && typeof body === "object" ? body.text : undefined;
  if (typeof text !== "string" || !text.trim()) {
    return Response.json({ error: "text is required" }, { status: 400, headers: PRIVATE_NO_STORE });
  }
  const started = Date.now();
  await sleep(faults.active.has("ai-slow") ? AI_SLOW_MS : AI_LATENCY_MS);
  const words = text.split(/\s+/).filter(Boolean);
  return Response.json(
    { summary: words.slice(0, 12).join(" ") + (words.length > 12 ? "…" : ""), model: "gpt-4o-mini",
      latency_ms: Date.now() - started },
    { headers: PRIVATE_NO_STORE },
  );
}
