import { headers } from "next/headers";
import { redirect } from "next/navigation";

import SignInForm from "../../components/SignInForm";
import { pageMetadata } from "../../lib/meta";
import { publicOrigin } from "../../lib/origin";

export const dynamic = "force-dynamic";

export function generateMetadata() {
  return pageMetadata("/sign-in", "Sign in — Napoleon AI");
}

// A return URL on this site that is not a full URL (those come from the pages' own guards and are
// kept for after sign-in) is handed straight to redirect(): the page there checks the session itself
// and sends a signed-out visitor back here with its full URL.  On-site is judged as a browser
// resolves it (WHATWG URL), and the value is passed on as given: redirect_url=https:host answers
// Location: https:host, which a browser resolves on this very origin.
function sameSiteReturn(value, origin) {
  if (typeof value !== "string" || !value || value.startsWith("//") || value.startsWith("https://")) return null;
  try {
    return new URL(value, `${origin}/sign-in`).origin === origin ? value : null;
  } catch {
    return null;
  }
}

export default async function SignIn({ searchParams }) {
  const params = await searchParams;
  const origin = publicOrigin(await headers());
  const target = sameSiteReturn(params.redirect_url, origin);
  if (target !== null) redirect(target);
  return (
    <main>
      <h1>Sign in to Napoleon AI</h1>
      <SignInForm />
    </main>
  );
}
