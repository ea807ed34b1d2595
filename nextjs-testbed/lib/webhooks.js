// Webhook signatures verified with node:crypto, as Stripe's and Svix's libraries do.
import crypto from "node:crypto";

export const TOLERANCE_S = 300;

function safeEqual(a, b) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

// Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" keyed with the whole whsec_ secret>.
// As stripe-node: any v1 may match; the timestamp may be at most TOLERANCE_S old.
export function verifyStripe(payload, header, secret) {
  if (!header || !secret) return "No signatures found matching the expected signature for payload";
  const items = header.split(",").map((item) => item.split("="));
  const timestamp = Number((items.find(([key]) => key === "t") || [])[1]);
  const signatures = items.filter(([key]) => key === "v1").map(([, value]) => value || "");
  if (!Number.isFinite(timestamp) || !signatures.length) return "Unable to extract timestamp and signatures from header";
  const expected = crypto.createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  if (!signatures.some((signature) => safeEqual(signature, expected))) {
    return "No signatures found matching the expected signature for payload";
  }
  if (Date.now() / 1000 - timestamp > TOLERANCE_S) return "Timestamp outside the tolerance zone";
  return null;
}

// Svix (Clerk): svix-id, svix-timestamp, svix-signature "v1,<base64 HMAC-SHA256 of id.timestamp.payload>"
// keyed with the base64 part of whsec_<base64>; the timestamp within 5 minutes either way.
export function verifySvix(payload, headers, secret) {
  const id = headers.get("svix-id");
  const timestamp = headers.get("svix-timestamp");
  const signatures = headers.get("svix-signature");
  if (!id || !timestamp || !signatures || !secret) return "Missing required headers";
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds)) return "Invalid Signature Headers";
  const now = Math.floor(Date.now() / 1000);
  if (now - seconds > TOLERANCE_S) return "Message timestamp too old";
  if (seconds > now + TOLERANCE_S) return "Message timestamp too new";
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  const expected = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${payload}`, "utf8").digest("base64");
  const found = signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",", 2);
    return version === "v1" && signature !== undefined && safeEqual(signature, expected);
  });
  return found ? null : "No matching signature found";
}
