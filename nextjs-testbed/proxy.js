// The platform's proxy (Next.js 16's middleware): the session guard of /dashboard, the cookies every
// page sets, and the faults that act before any route: a single-page-app shell deployed in place of
// the platform, an upstream pool too small for concurrent load, a leaked /.env, X-Powered-By.
import { NextResponse } from "next/server";

import { readFaults, sleep } from "./lib/faults";
import { publicOrigin } from "./lib/origin";
import { SESSION_COOKIE, currentUser } from "./lib/session";

const SPA_SHELL =
  '<!doctype html><html lang="en"><head><meta charset="UTF-8"/><title>Napoleon AI</title>' +
  '<script type="module" crossorigin src="/assets/index-4f1c2a9b.js"></script></head>' +
  '<body><div id="root"></div></body></html>';
// The pool faults (error-5pct, status-upstream-failing): three requests in flight at once are load.
const UNDER_LOAD_IN_FLIGHT = 3;
const UPSTREAM_SERVICE_MS = 50;
const SERVER_SECRETS = [
  "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CLERK_SECRET_KEY", "CLERK_WEBHOOK_SECRET",
  "SUPABASE_SERVICE_ROLE_KEY", "OPENAI_API_KEY", "GOOGLE_CLIENT_SECRET", "MICROSOFT_CLIENT_SECRET",
  "SLACK_CLIENT_SECRET",
];

const pool = { inFlight: 0, concurrentServed: 0, faults: "" };

function badGateway() {
  return NextResponse.json({ error: "Bad Gateway" }, { status: 502 });
}

// An upstream pool too small for concurrent load: what is refused depends on the requests in flight
// at once, never on who sent them or how recently (a check that follows a burst sees an idle server).
async function poolAnswer(faults, pathname) {
  const key = [...faults.active].sort().join(",");
  if (key !== pool.faults) {
    pool.faults = key;
    pool.concurrentServed = 0;
  }
  pool.inFlight += 1;
  try {
    const atArrival = pool.inFlight;
    // The upstream's own service time: on loopback, answers are otherwise too quick to overlap (50 ms:
    // a busy machine still sees the burst's requests overlap here, where they are counted).
    await sleep(UPSTREAM_SERVICE_MS);
    const underLoad = Math.max(atArrival, pool.inFlight) >= UNDER_LOAD_IN_FLIGHT;
    if (underLoad && faults.active.has("error-5pct")) {
      pool.concurrentServed += 1;
      if (pool.concurrentServed % 20 === 0) return badGateway();
    }
    if (underLoad && faults.active.has("status-upstream-failing") && pathname === "/api/status") {
      pool.concurrentServed += 1;
      if (pool.concurrentServed % 3 === 0) return badGateway();
    }
    return null;
  } finally {
    pool.inFlight -= 1;
  }
}

function dotenv() {
  const lines = ["# Production environment", "NODE_ENV=production", "NEXT_PUBLIC_APP_URL=https://napoleonai.app"];
  for (const name of SERVER_SECRETS) if (process.env[name]) lines.push(`${name}=${process.env[name]}`);
  return `${lines.join("\n")}\n`;
}

function token(bytes) {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

function pageCookies(faults) {
  let session = `napoleon_sid=${token(18)}; Path=/; Max-Age=1800`;
  if (!faults.active.has("cookie-insecure")) session += "; Secure; HttpOnly";
  if (!faults.active.has("cookie-no-samesite")) session += "; SameSite=Lax";
  let csrf = `__Host-napoleon_csrf=${token(24)}; Path=/; Secure; HttpOnly; SameSite=Lax`;
  if (faults.active.has("host-cookie-domain")) csrf += "; Domain=localhost";
  // Clerk's client-uat cookie is script-readable by design (allowlisted in the config).
  return [session, csrf, "__client_uat=0; Path=/; Max-Age=315360000; Secure; SameSite=Lax"];
}

function isPage(request, pathname) {
  return request.method === "GET" && !pathname.startsWith("/api/") && !pathname.startsWith("/insights/")
    && request.headers.get("rsc") !== "1";
}

export async function proxy(request) {
  const faults = readFaults();
  const on = (name) => faults.active.has(name);
  const { pathname } = request.nextUrl;
  if (on("catch-all-html")) {
    // A single-page-app fallback ("rewrites": [{"source": "/(.*)", "destination": "/index.html"}]).
    return new NextResponse(SPA_SHELL, { headers: { "content-type": "text/html; charset=utf-8" } });
  }
  if (on("error-5pct") || on("status-upstream-failing")) {
    const refused = await poolAnswer(faults, pathname);
    if (refused) return refused;
  }
  if (pathname === "/.env" && on("dotenv-served") && ["GET", "HEAD"].includes(request.method)) {
    return new NextResponse(dotenv(), {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "public, max-age=0" },
    });
  }
  if ((pathname === "/dashboard" || pathname.startsWith("/dashboard/")) && !on("dashboard-public")) {
    const user = currentUser(request.cookies.get(SESSION_COOKIE)?.value, request.headers.get("authorization"), faults);
    if (user === null) {
      const origin = publicOrigin(request.headers);
      const back = encodeURIComponent(`${origin}${pathname}${request.nextUrl.search}`);
      return NextResponse.redirect(`${origin}/sign-in?redirect_url=${back}`, 307);
    }
  }
  const response = NextResponse.next();
  if (isPage(request, pathname)) for (const cookie of pageCookies(faults)) response.headers.append("set-cookie", cookie);
  if (on("x-powered-by")) response.headers.set("x-powered-by", "Next.js");
  return response;
}

export const config = {
  // Not the build's own files: Next.js serves /_next/static itself, immutable.
  matcher: ["/((?!_next/static|_next/image).*)"],
};
