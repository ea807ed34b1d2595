import { readFaults } from "../lib/faults";

export const metadata = { title: "404: This page could not be found.", robots: { index: false } };

export function NotFoundContent({ stack }) {
  return (
    <main className="not-found">
      <h1>404</h1>
      <h2>This page could not be found.</h2>
      {stack && <pre>{stack}</pre>}
    </main>
  );
}

export default function NotFound() {
  // The dev-mode-errors fault: a development build shows the error's stack on its 404 page.
  const stack = readFaults().active.has("dev-mode-errors")
    ? new Error("NEXT_HTTP_ERROR_FALLBACK;404: page not found").stack
    : null;
  return <NotFoundContent stack={stack} />;
}
