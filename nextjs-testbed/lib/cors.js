// CORS for the public API routes against an allowlist, and the ways real deployments get it wrong.
export const ALLOWED_ORIGINS = new Set(["https://napoleonai.app", "https://www.napoleonai.app"]);
// The cors-www-regex fault's matcher for the www origin: /^https:\/\/www.napoleonai.app/ (no \. nor $).
const WWW_ORIGIN_REGEX = /^https:\/\/www.napoleonai.app/;
export const ROUTE_METHODS = "GET, HEAD, OPTIONS";

function allowed(faults, origin) {
  const on = (name) => faults.active.has(name);
  if (on("cors-reflect-any")) return true;
  if (origin === "null") return on("cors-null-allowed");
  if (on("cors-suffix-match") && origin.endsWith("napoleonai.app")) return true;
  if (on("cors-www-regex") && WWW_ORIGIN_REGEX.test(origin)) return true;
  return ALLOWED_ORIGINS.has(origin);
}

// The CORS headers for an answer on `path` to a request with `origin` (null: none sent).
export function corsHeaders(faults, path, request, preflight) {
  const on = (name) => faults.active.has(name);
  const origin = request.headers.get("origin");
  if (on("cors-wildcard-credentials") && path === "/api/status") {
    const headers = [["access-control-allow-origin", "*"], ["access-control-allow-credentials", "true"]];
    if (preflight) headers.push(["access-control-allow-methods", ROUTE_METHODS]);
    return headers;
  }
  const vary = on("cors-no-vary") ? [] : [["vary", "Origin"]];
  if (origin === null || !allowed(faults, origin)) return vary;
  const headers = [...vary, ["access-control-allow-origin", origin]];
  if (on("cors-reflect-any")) {
    headers.push(["access-control-allow-credentials", "true"]);
    if (preflight) {
      headers.push(["access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"]);
      headers.push(["access-control-allow-headers", request.headers.get("access-control-request-headers") || ""]);
    }
  } else if (preflight) {
    headers.push(["access-control-allow-methods", ROUTE_METHODS]);
    headers.push(["access-control-allow-headers", "content-type"]);
    headers.push(["access-control-max-age", "600"]);
  }
  return headers;
}

export function withCors(response, faults, path, request, preflight = false) {
  for (const [name, value] of corsHeaders(faults, path, request, preflight)) response.headers.append(name, value);
  return response;
}

export function preflightResponse(faults, path, request) {
  const response = new Response(null, { status: 204, headers: { allow: ROUTE_METHODS } });
  return request.headers.get("origin") === null ? response : withCors(response, faults, path, request, true);
}
