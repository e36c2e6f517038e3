import type { NextConfig } from "next";

/**
 * Where `next build` writes the UI and the server reads it: `.next`, or VEIL_NEXT_DIST_DIR
 * (`.next-<name>`) so several checkouts of one working tree can each build their own. Read here
 * rather than in src/env.ts because Next loads this file itself, where src/ cannot be imported.
 */
function distDir(): string {
  const value = process.env.VEIL_NEXT_DIST_DIR;
  if (value === undefined || value === "") return ".next";
  if (!/^\.next-[A-Za-z0-9_-]{1,40}$/.test(value))
    throw new Error(`VEIL_NEXT_DIST_DIR: "${value}" must look like .next-<name> (letters, digits, - and _)`);
  return value;
}

const config: NextConfig = {
  // No X-Powered-By; the custom server strips X-Nextjs-* and sets every security header.
  poweredByHeader: false,
  reactStrictMode: true,
  // The console's HTTP API lives in the custom server (src/server), not in route handlers.
  typedRoutes: false,
  // `next build` type-checks only what it bundles (pages and browser code); the server and the
  // tests are checked by `pnpm typecheck`, so a test cannot break the UI build.
  typescript: { tsconfigPath: "tsconfig.next.json" },
  distDir: distDir(),
};

export default config;
