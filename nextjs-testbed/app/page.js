import Briefing from "../components/Briefing";
import { readFaults } from "../lib/faults";
import { pageMetadata } from "../lib/meta";

export const dynamic = "force-dynamic";

export function generateMetadata() {
  return pageMetadata("/", "Napoleon AI — your executive inbox, handled");
}

export default function Landing() {
  const faults = readFaults();
  const on = (name) => faults.active.has(name);
  // The service-role-in-html fault: the service-role key pasted where the anon key belongs.
  const supabase = on("service-role-in-html")
    ? `window.__SUPABASE__=${JSON.stringify({
        SUPABASE_URL: "https://napoleon-testbed.supabase.co",
        SUPABASE_KEY: process.env.SUPABASE_SERVICE_ROLE_KEY || "",
      })}`
    : null;
  return (
    <main>
      {supabase && <script dangerouslySetInnerHTML={{ __html: supabase }} />}
      <h1>Napoleon AI</h1>
      <p>Your executive inbox, handled by AI.</p>
      <p>Napoleon triages email, Slack and Teams so you only see what matters.</p>
      <a href="/sign-in" className="btn">Get started</a>
      <Briefing
        throwsNow={on("uncaught-exception")}
        throwsLate={on("late-error-300ms")}
        slowHero={on("lcp-slow")}
      />
    </main>
  );
}
