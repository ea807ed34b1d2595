// The session guard of /dashboard and /api/user, as Next.js 15 runs middleware: in the edge runtime
// (Web Crypto, no node: modules).  The routes behind it trust it, the pattern CVE-2025-29927 breaks.
import { NextResponse } from "next/server";

const SESSION_COOKIE = "__session";

function b64url(text) {
  const plain = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(plain + "=".repeat((4 - (plain.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

async function verified(token) {
  const pem = process.env.SESSION_PUBLIC_KEY || "";
  const parts = (token || "").split(".");
  if (!pem || parts.length !== 3) return null;
  try {
    const der = b64url(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "").replace(/\+/g, "-").replace(/\//g, "_"));
    const key = await crypto.subtle.importKey("spki", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
    const header = JSON.parse(new TextDecoder().decode(b64url(parts[0])));
    if (header.alg !== "RS256") return null;
    const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, b64url(parts[2]),
                                          new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
    const claims = JSON.parse(new TextDecoder().decode(b64url(parts[1])));
    return ok && claims.exp * 1000 > Date.now() ? claims : null;
  } catch {
    return null;
  }
}

export async function middleware(request) {
  const user = await verified(request.cookies.get(SESSION_COOKIE)?.value);
  if (user) {
    const headers = new Headers(request.headers);
    headers.set("x-session-user", JSON.stringify({ id: user.sub, name: user.name, email: user.email }));
    return NextResponse.next({ request: { headers } });
  }
  if (request.nextUrl.pathname.startsWith("/api/")) {
    return NextResponse.json({ error: "unauthorized" }, { status: 401 });
  }
  const signIn = new URL("/sign-in", request.url);
  signIn.searchParams.set("redirect_url", request.nextUrl.pathname);
  return NextResponse.redirect(signIn);
}

export const config = { matcher: ["/dashboard/:path*", "/api/user"] };
