import { preflightResponse, withCors } from "../../../lib/cors";
import { readFaults } from "../../../lib/faults";
import { healthBody } from "../../../lib/health";

export const dynamic = "force-dynamic";
const PATH = "/api/status";

export async function GET(request) {
  const faults = readFaults();
  const { status, body } = healthBody(faults);
  const answer = Response.json(
    { status: status === 200 ? "operational" : "degraded", updated_at: body.timestamp },
    { headers: { "cache-control": "public, s-maxage=30" } },
  );
  return withCors(answer, faults, PATH, request);
}

export async function OPTIONS(request) {
  return preflightResponse(readFaults(), PATH, request);
}
