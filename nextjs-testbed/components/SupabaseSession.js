"use client";

// Every page's Supabase session listener (the root layout mounts it): creates the browser client
// and follows its auth state, so a tab notices a session ending in another.  Without a session
// nothing is sent: the client reads its cookies and waits.
import { useEffect } from "react";

import { createClient } from "../lib/supabase/client";

export default function SupabaseSession() {
  useEffect(() => {
    const supabase = createClient();
    const { data } = supabase.auth.onAuthStateChange(() => {});
    return () => data.subscription.unsubscribe();
  }, []);
  return null;
}
