import { cookies, headers } from "next/headers";

import { readFaults } from "../../lib/faults";
import { pageMetadata } from "../../lib/meta";
import { SESSION_COOKIE, currentUser } from "../../lib/session";

export const dynamic = "force-dynamic";

export function generateMetadata() {
  return pageMetadata("/dashboard", "Dashboard — Napoleon AI");
}

// The proxy (proxy.js) sends visitors without a session to /sign-in before this renders.
export default async function Dashboard() {
  const session = (await cookies()).get(SESSION_COOKIE)?.value;
  const user = currentUser(session, (await headers()).get("authorization"), readFaults());
  return (
    <main>
      <h1>
        Good morning, <span data-testid="user-name">{user?.name || ""}</span>
      </h1>
      <p>3 priority messages need you today.</p>
      <form method="post" action="/sign-out">
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
