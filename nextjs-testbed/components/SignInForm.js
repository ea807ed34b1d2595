"use client";

import { useState } from "react";

// The email step of sign-in; the identity provider's part is not in this testbed.
export default function SignInForm() {
  const [sent, setSent] = useState(false);
  if (sent) return <p role="status">Check your email for a sign-in link.</p>;
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        setSent(true);
      }}
    >
      <label>
        Email <input type="email" name="email" required autoComplete="email" />
      </label>
      <button type="submit">Continue</button>
    </form>
  );
}
