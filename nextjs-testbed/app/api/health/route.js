import fs from "node:fs";
import path from "node:path";

import { readFaults, sleep } from "../../../lib/faults";
import { healthBody } from "../../../lib/health";
import { NO_STORE } from "../../../lib/plans";

export const dynamic = "force-dynamic";

// When this build was made (next build writes .next/BUILD_ID).
function builtAt() {
  try {
    return fs.statSync(path.join(process.cwd(), ".next", "BUILD_ID")).mtime;
  } catch {
    return new Date(0);
  }
}

export async function GET() {
  const faults = readFaults();
  if (faults.active.has("health-slow")) await sleep(800);
  const { status, body } = healthBody(faults);
  if (faults.active.has("health-static")) {
    // The route rendered at build time (no dynamic API, no `dynamic` export): next start serves the
    // build's answer from its cache, as it does for any prerendered route handler.
    const built = builtAt();
    return Response.json({ ...body, timestamp: built.toISOString(), uptime_s: 0 }, {
      status,
      headers: { "cache-control": "s-maxage=31536000", "x-nextjs-cache": "HIT", "x-nextjs-prerender": "1" },
    });
  }
  if (faults.active.has("health-invalid-json")) {
    // The route streams its JSON and dies half-way: the proxy still delivers a 200.
    const text = JSON.stringify(body);
    return new Response(text.slice(0, Math.floor(text.length / 2)), {
      status: 200,
      headers: { "content-type": "application/json", ...NO_STORE },
    });
  }
  return Response.json(body, { status, headers: NO_STORE });
}
