import { publicOrigin } from "../../lib/origin";
import { readFaults } from "../../lib/faults";
import { PRIVATE_NO_STORE } from "../../lib/plans";
import { SESSION_COOKIE } from "../../lib/session";

const CLEAR_SESSION = `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`;
// The return-URL parameters the open-redirect-sign-out fault's handler reads (Clerk's, Auth.js's…).
const RETURN_PARAMS = ["redirect_url", "redirect_uri", "returnTo", "next", "callbackUrl"];

export async function POST(request) {
  return new Response(null, {
    status: 303,
    headers: { location: "/", "set-cookie": CLEAR_SESSION, ...PRIVATE_NO_STORE },
  });
}

export async function GET(request) {
  if (!readFaults().active.has("open-redirect-sign-out")) {
    return Response.json({ error: "Method Not Allowed" }, { status: 405, headers: { allow: "POST" } });
  }
  // A GET sign-out (for a link in an email) that trusts any return URL starting with "/".
  const params = request.nextUrl.searchParams;
  let target = RETURN_PARAMS.map((name) => params.get(name)).find((value) => value !== null) ?? "/";
  if (!target.startsWith("/")) target = "/"; // absolute URLs are refused, but //host and /\host start with "/"
  const location = new URL(target, publicOrigin(request.headers)).href;
  return new Response(null, { status: 303, headers: { location, "set-cookie": CLEAR_SESSION, "cache-control": "no-store" } });
}
