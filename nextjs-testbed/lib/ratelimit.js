// The waitlist route's limit, as Upstash's fixedWindow(10, "3 s") enforces it (10: the burst of twice the
// limit and one must reach the app within one window, on a loaded machine too; see testbed/security.py): the window is
// floor(now / length), the same for every client (not one opened by a client's first request).
export const RATE_LIMIT = 10;
export const RATE_WINDOW_S = 3;

const counts = new Map(); // client -> [window, count]
const stuck = new Set(); // the ratelimit-stuck fault: clients whose block never expires

// The client's address: the one the reverse proxy in front wrote (X-Real-IP, set by nginx from the
// peer); the ratelimit-xff fault keys on the first X-Forwarded-For entry, which the client writes.
function clientOf(request, faults) {
  const forwarded = request.headers.get("x-forwarded-for");
  if (faults.active.has("ratelimit-xff") && forwarded) return forwarded.split(",")[0].trim();
  return request.headers.get("x-real-ip") || "unknown";
}

// null when the request may pass, else the 429 to answer.
export function limit(request, faults) {
  const on = (name) => faults.active.has(name);
  if (!on("ratelimit-stuck")) stuck.clear();
  if (on("ratelimit-off")) return null;
  const client = clientOf(request, faults);
  const now = Date.now() / 1000;
  const window = Math.floor(now / RATE_WINDOW_S);
  const [seen, count] = counts.get(client) || [window, 0];
  const next = seen === window ? count + 1 : 1;
  counts.set(client, [window, next]);
  if (counts.size > 10000) counts.clear();
  let allowed = next <= RATE_LIMIT;
  let reset = (window + 1) * RATE_WINDOW_S - now;
  if (stuck.has(client)) {
    allowed = false;
    reset = RATE_WINDOW_S;
  }
  if (allowed) return null;
  if (on("ratelimit-stuck")) stuck.add(client);
  const seconds = Math.max(1, Math.ceil(reset));
  const headers = { "cache-control": "no-store" };
  if (!on("ratelimit-no-retry-after")) {
    headers["retry-after"] = String(seconds);
    headers["ratelimit-policy"] = `${RATE_LIMIT};w=${RATE_WINDOW_S}`;
    headers["ratelimit"] = `limit=${RATE_LIMIT}, remaining=0, reset=${seconds}`;
  }
  return Response.json({ error: "Too Many Requests" }, { status: 429, headers });
}
