import PlansWidget from "../../components/PlansWidget";
import { readFaults, sleep } from "../../lib/faults";
import { pageMetadata } from "../../lib/meta";
import { PLANS } from "../../lib/plans";

export const dynamic = "force-dynamic";

export function generateMetadata() {
  return pageMetadata("/pricing", "Pricing — Napoleon AI");
}

export default async function Pricing() {
  const faults = readFaults();
  const on = (name) => faults.active.has(name);
  if (on("page-slow")) await sleep(2500);
  if (on("page-500")) throw new Error("plans query failed: connection terminated unexpectedly");
  const plans = on("page-text-missing") ? (
    <div className="plans" data-state="error" />
  ) : (
    PLANS.map((plan) => (
      <section className="plan" key={plan.name}>
        <h3>{plan.name}</h3>
        <p className="price">{plan.price}/mo</p>
        <p>{plan.description}</p>
      </section>
    ))
  );
  return (
    <main>
      <PlansWidget
        logsError={on("console-error")}
        logsErrorLate={on("late-console-error-3s")}
        banner={on("layout-shift")}
        // The secret-key-in-rsc fault: the widget given the server's Supabase key "to read plans
        // directly": a client component's props are serialised into the page's RSC payload.
        supabaseKey={on("secret-key-in-rsc") ? process.env.SUPABASE_SECRET_KEY : undefined}
      />
      <h1>Simple, transparent pricing</h1>
      {plans}
    </main>
  );
}
