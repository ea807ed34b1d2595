import { headers } from "next/headers";

// Behind the middleware's guard: the page trusts the user it was handed.
export default async function Dashboard() {
  const user = JSON.parse((await headers()).get("x-session-user") || "{}");
  return <main><h1>Dashboard</h1><p>{user.name || "(no session)"}</p></main>;
}
