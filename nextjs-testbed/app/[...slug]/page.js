import { notFound } from "next/navigation";

import { readFaults } from "../../lib/faults";
import { NotFoundContent } from "../not-found";

export const dynamic = "force-dynamic";

// The CMS catch-all route: every path without a page of its own ends here.
export default function CatchAll() {
  const faults = readFaults();
  if (faults.active.has("unknown-route-500")) throw new Error("content lookup failed: ECONNREFUSED 10.0.4.12:5432");
  // The soft-404 fault: the not-found page rendered without notFound(), so it answers 200.
  if (faults.active.has("soft-404")) return <NotFoundContent />;
  notFound();
}
