import { readFaults, sleep } from "../../../lib/faults";

export const dynamic = "force-dynamic";
const SCRIPT = "!function(){window.va=window.va||function(){};window.va('pageview')}();";

// The page that loads the script (its Referer): the analytics faults hit one page each.
function fromPage(request) {
  try {
    return new URL(request.headers.get("referer") || "").pathname;
  } catch {
    return "";
  }
}

export async function GET(request) {
  const faults = readFaults();
  const page = fromPage(request);
  if (faults.active.has("script-broken") && page === "/pricing") {
    return new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain", "cache-control": "no-store" } });
  }
  if (faults.active.has("page-load-slow") && page === "/") await sleep(3000);
  return new Response(SCRIPT, {
    headers: { "content-type": "application/javascript; charset=utf-8", "cache-control": "public, max-age=0, must-revalidate" },
  });
}
