import type { NextConfig } from "next";

const config: NextConfig = {
  // No X-Powered-By; the custom server strips X-Nextjs-* and sets every security header.
  poweredByHeader: false,
  reactStrictMode: true,
  // The console's HTTP API lives in the custom server (src/server), not in route handlers.
  typedRoutes: false,
};

export default config;
