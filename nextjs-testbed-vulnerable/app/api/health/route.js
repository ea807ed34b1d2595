export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ status: "healthy", version: process.env.APP_VERSION || "dev" });
}
