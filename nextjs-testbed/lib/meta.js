// Page metadata: the title, and the canonical and og:url links Next.js writes from metadataBase
// (NEXT_PUBLIC_APP_URL on a real deployment; here the origin the visitor used).
import { headers } from "next/headers";

import { readFaults } from "./faults";
import { publicOrigin } from "./origin";

export async function pageMetadata(route, title) {
  // The app-url-localhost fault: built with NEXT_PUBLIC_APP_URL=http://localhost:3000.
  const appUrl = readFaults().active.has("app-url-localhost") ? "http://localhost:3000" : publicOrigin(await headers());
  return { title, metadataBase: new URL(appUrl), alternates: { canonical: route }, openGraph: { url: route } };
}
