// Sessions as Clerk issues them: an RS256 JWT in the __session cookie (or a Bearer token), verified
// with node:crypto against the public key the deployment is given (SESSION_PUBLIC_KEY, PEM).
// The jwt-alg-none fault is the classic mistake: trusting the token's own "alg" header.
import crypto from "node:crypto";

export const SESSION_COOKIE = "__session";
let cachedKey = null;

function publicKey() {
  const pem = process.env.SESSION_PUBLIC_KEY;
  if (!pem) return null;
  if (cachedKey === null || cachedKey.pem !== pem) cachedKey = { pem, key: crypto.createPublicKey(pem) };
  return cachedKey.key;
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

export function verifyToken(token, { acceptAlgNone = false } = {}) {
  const parts = String(token || "").split(".");
  if (parts.length !== 3) return null;
  let header;
  let claims;
  try {
    header = decodePart(parts[0]);
    claims = decodePart(parts[1]);
  } catch {
    return null;
  }
  if (!header || typeof header !== "object" || !claims || typeof claims !== "object") return null;
  if (!(acceptAlgNone && String(header.alg).toLowerCase() === "none")) {
    const key = publicKey();
    if (header.alg !== "RS256" || key === null) return null;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    let valid = false;
    try {
      valid = crypto.verify("RSA-SHA256", signed, key, Buffer.from(parts[2], "base64url"));
    } catch {
      valid = false;
    }
    if (!valid) return null;
  }
  const now = Date.now() / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= now) return null;
  if (typeof claims.nbf === "number" && claims.nbf > now + 60) return null;
  return claims;
}

// The token a request carries: the session cookie, else an Authorization: Bearer header.
// `cookieValue` is the cookie's value (read by the caller: proxy and route handlers read cookies differently).
export function requestToken(cookieValue, authorization) {
  if (cookieValue) return cookieValue;
  const auth = authorization || "";
  return auth.startsWith("Bearer ") ? auth.slice(7).trim() : "";
}

export function currentUser(cookieValue, authorization, faults) {
  const token = requestToken(cookieValue, authorization);
  return token ? verifyToken(token, { acceptAlgNone: faults.active.has("jwt-alg-none") }) : null;
}
