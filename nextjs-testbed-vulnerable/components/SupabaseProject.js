"use client";

// The Supabase project the browser would talk to (inlined by next build; the launcher deploys the
// build with its stand-in's URL and key in place of the placeholders, as for ../nextjs-testbed).
export default function SupabaseProject() {
  return (
    <div hidden data-supabase-url={process.env.NEXT_PUBLIC_SUPABASE_URL}
         data-supabase-anon-key={process.env.NEXT_PUBLIC_SUPABASE_ANON_KEY} />
  );
}
