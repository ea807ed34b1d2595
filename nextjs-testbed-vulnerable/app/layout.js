import SupabaseProject from "../components/SupabaseProject";

export const metadata = { title: "Napoleon AI" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        {children}
        <SupabaseProject />
      </body>
    </html>
  );
}
