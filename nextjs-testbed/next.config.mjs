// The platform's headers (what vercel.json carries on Vercel) and a production build without the
// X-Powered-By banner.  Clerk's documented CSP for a Next.js app, without 'unsafe-eval'.
// Source maps are built (for an error tracker) and kept on the server: the nginx in front refuses
// *.map unless the source-map-turbopack fault is on.  Turbopack names each map apart from its chunk
// (`//# sourceMappingURL=<other hash>.js.map`), which is what that fault is about.
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' https://clerk.napoleonai.app https://challenges.cloudflare.com https://js.stripe.com",
  "connect-src 'self' https://clerk.napoleonai.app https://napoleon-testbed.supabase.co https://api.stripe.com",
  "img-src 'self' https://img.clerk.com data:",
  "style-src 'self' 'unsafe-inline'",
  "frame-src 'self' https://challenges.cloudflare.com https://js.stripe.com",
  "worker-src 'self' blob:",
  "form-action 'self'",
  "base-uri 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "upgrade-insecure-requests",
].join("; ");

// The image-optimizer-open fault: a deployment started with an open images.remotePatterns, which
// `next start` reads from this file when it starts (the launcher restarts it with the variable set).
// Healthy, the optimizer serves local images only, Next.js's default.
const OPEN_IMAGES = process.env.TESTBED_IMAGES_OPEN === "1";

const nextConfig = {
  poweredByHeader: false,
  ...(OPEN_IMAGES ? { images: { remotePatterns: [{ protocol: "https", hostname: "**" }] } } : {}),
  productionBrowserSourceMaps: true,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains; preload" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
          { key: "Content-Security-Policy", value: CSP },
        ],
      },
    ];
  },
};

export default nextConfig;
