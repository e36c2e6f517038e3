import type { NextConfig } from "next";

const config: NextConfig = {
  // No X-Powered-By; the custom server strips X-Nextjs-* and sets every security header.
  poweredByHeader: false,
  reactStrictMode: true,
  // The console's HTTP API lives in the custom server (src/server), not in route handlers.
  typedRoutes: false,
  // `next build` type-checks only what it bundles (pages and browser code); the server and the
  // tests are checked by `pnpm typecheck`, so a test cannot break the UI build.
  typescript: { tsconfigPath: "tsconfig.next.json" },
};

export default config;
