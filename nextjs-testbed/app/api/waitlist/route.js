// POST /api/waitlist {email, name?}: rate limited, then validated as a zod schema would.
import { devStack } from "../../../lib/devstack";
import { readFaults } from "../../../lib/faults";
import { limit } from "../../../lib/ratelimit";

export const dynamic = "force-dynamic";
const MAX_BODY_BYTES = 65536;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const NO_STORE = { "cache-control": "no-store" };

export async function POST(request) {
  const faults = readFaults();
  const on = (name) => faults.active.has(name);
  const limited = limit(request, faults);
  if (limited) return limited;
  const validating = !on("input-validation-missing");
  const type = (request.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (validating && type !== "application/json") {
    return Response.json({ error: "Content-Type must be application/json" }, { status: 415 });
  }
  const declared = Number(request.headers.get("content-length") || "0");
  if (validating && declared > MAX_BODY_BYTES) return Response.json({ error: "Payload Too Large" }, { status: 413 });
  const raw = await request.text();
  if (validating && Buffer.byteLength(raw) > MAX_BODY_BYTES) {
    return Response.json({ error: "Payload Too Large" }, { status: 413 });
  }
  let body;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    if (on("stack-trace-malformed-json") || on("dev-mode-errors")) {
      return new Response(devStack(error), { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    return Response.json({ error: "Invalid JSON body" }, { status: 400 });
  }
  if (!validating) {
    // No schema: the handler trusts the shape and crashes on the first wrong type.
    try {
      body.email.toLowerCase();
    } catch (error) {
      return Response.json({ error: `${error.name}: ${error.message}` }, { status: 500 });
    }
    return Response.json({ ok: true }, { status: 201 });
  }
  const issues = [];
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    issues.push({ path: [], message: "Expected object" });
  } else {
    if (typeof body.email !== "string" || !EMAIL.test(body.email)) issues.push({ path: ["email"], message: "Invalid email" });
    if (body.name !== undefined && (typeof body.name !== "string" || body.name.length > 100)) {
      issues.push({ path: ["name"], message: "Expected string, at most 100 characters" });
    }
  }
  if (issues.length) return Response.json({ error: "Invalid input", issues }, { status: 422 });
  return Response.json({ ok: true }, { status: 201, headers: NO_STORE });
}

// Only POST is served; a development build answers other methods with the stack.
function unsupported(method) {
  if (readFaults().active.has("dev-mode-errors")) {
    const error = new Error(`${method} /api/waitlist is not exported by route.js`);
    return new Response(devStack(error), { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  return Response.json({ error: "Method Not Allowed" }, { status: 405, headers: { allow: "POST" } });
}

export const DELETE = () => unsupported("DELETE");
export const PUT = () => unsupported("PUT");
export const PATCH = () => unsupported("PATCH");
