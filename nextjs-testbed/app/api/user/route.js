import { readFaults } from "../../../lib/faults";
import { NO_STORE } from "../../../lib/plans";
import { SESSION_COOKIE, currentUser } from "../../../lib/session";

export const dynamic = "force-dynamic";

export async function GET(request) {
  const faults = readFaults();
  if (faults.active.has("protected-api-open")) {
    // The route lost its session check; the handler falls back to a demo account.
    return Response.json({ id: "user_2demo", name: "Demo Executive", email: "demo@napoleonai.app" });
  }
  const user = currentUser(request.cookies.get(SESSION_COOKIE)?.value, request.headers.get("authorization"), faults);
  if (user === null) return Response.json({ error: "Unauthorized" }, { status: 401, headers: NO_STORE });
  return Response.json({ id: user.sub, name: user.name ?? null, email: user.email ?? null }, { headers: NO_STORE });
}
