import "./globals.css";

import SupabaseSession from "../components/SupabaseSession";

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <header className="nav">
          <a href="/" className="brand">Napoleon AI</a>
          <nav>
            <a href="/pricing">Pricing</a> <a href="/sign-in">Sign in</a>
          </nav>
        </header>
        {children}
        <SupabaseSession />
        {/* The analytics script every page loads (as Vercel Analytics' script.js). */}
        <script src="/insights/script.js" async />
      </body>
    </html>
  );
}
