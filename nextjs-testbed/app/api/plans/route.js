import { preflightResponse, withCors } from "../../../lib/cors";
import { readFaults, sleep } from "../../../lib/faults";
import { NO_STORE, PLANS } from "../../../lib/plans";

export const dynamic = "force-dynamic";
const PATH = "/api/plans";

export async function GET(request) {
  const faults = readFaults();
  if (faults.active.has("api-slow")) await sleep(800);
  if (faults.active.has("api-error")) {
    return withCors(Response.json({ error: "Internal Server Error" }, { status: 500, headers: NO_STORE }), faults, PATH, request);
  }
  const plans = PLANS.map((plan) => ({ ...plan, interval: "month" }));
  const answer = Response.json({ plans }, { headers: { "cache-control": "public, s-maxage=300, stale-while-revalidate=60" } });
  return withCors(answer, faults, PATH, request);
}

export async function OPTIONS(request) {
  return preflightResponse(readFaults(), PATH, request);
}
