import Link from "next/link";

export default function Home() {
  return (
    <main>
      <h1>Your executive inbox, handled by AI.</h1>
      <Link href="/pricing">Pricing</Link> <Link href="/sign-in">Sign in</Link>
    </main>
  );
}
