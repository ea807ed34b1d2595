// The browser's Supabase client, as Supabase's Next.js guide writes it (lib/supabase/client.ts):
// the project's URL and public anon key, inlined by next build from NEXT_PUBLIC_* variables.
import { createBrowserClient } from "@supabase/ssr";

export function createClient() {
  return createBrowserClient(process.env.NEXT_PUBLIC_SUPABASE_URL, process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY);
}
