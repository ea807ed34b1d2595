// The health body, shared by /api/health and /api/status: components, version, memory.
const STARTED = Date.now();

export function healthBody(faults) {
  const on = (name) => faults.active.has(name);
  const checks = {
    database: { status: "ok", latency_ms: on("health-db-slow") ? 300 : 12 },
    auth: { status: "ok", latency_ms: 41 },
    ai: { status: "ok", latency_ms: 186 },
    payments: { status: "ok", latency_ms: 63 },
  };
  // The db-url-in-health fault: the route dumps its database client's settings, password included.
  if (on("db-url-in-health")) checks.database.url = process.env.DATABASE_URL || "";
  if (on("health-db-down")) checks.database = { status: "error", latency_ms: null, error: "connection timeout" };
  const healthy = Object.values(checks).every((c) => c.status === "ok");
  const version = on("wrong-version")
    ? "0b7e5d3c2a1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d"
    : process.env.APP_VERSION || "development";
  // The server's resident memory against the limit it runs under (Vercel's default 1024 MB).
  const usedMb = on("health-memory-high") ? 912 : Math.round(process.memoryUsage().rss / 1048576);
  return {
    status: healthy ? 200 : 503,
    body: {
      status: healthy ? "healthy" : "unhealthy",
      version,
      timestamp: new Date().toISOString(),
      uptime_s: Math.round((Date.now() - STARTED) / 1000),
      memory: { used_mb: usedMb, limit_mb: 1024 },
      checks,
    },
  };
}
