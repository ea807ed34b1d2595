import { headers } from "next/headers";

// Behind the middleware's guard: the route trusts the user it was handed.
export async function GET() {
  return Response.json(JSON.parse((await headers()).get("x-session-user") || "{}"));
}
