import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";

// The crypto suite again, inside Debian's Chromium: the console runs this code in a browser,
// so @noble, hash-wasm and WebCrypto must give the same answers there as in Node.
// `*.node.test.ts` files use node:crypto or node:fs and stay in the "crypto" (Node) project.

const packageRoot = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(packageRoot, "../..");
// shared/ sits beside the repository (here and in CI); a user's clone may not have it, and
// the suites that read it then skip.
const vectorsDir = resolve(repoRoot, "../shared/vectors");

// Flags for a container with no GPU, no user namespaces, no network beyond loopback.
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export default defineConfig({
  // commands.readFile resolves relative paths against the project root, so pin it to this
  // package: "../../../shared/vectors/…" then means the same folder as in the Node project
  // when that one runs from packages/crypto.
  root: packageRoot,
  server: {
    fs: {
      strict: true,
      // Setting `allow` replaces Vite's default (the workspace root), so list it again.
      allow: [repoRoot, ...(existsSync(vectorsDir) ? [vectorsDir] : [])],
    },
  },
  test: {
    name: "crypto-browser",
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.node.test.ts", "**/node_modules/**"],
    // Argon2id at 64 MiB and Wycheproof sweeps are slow in pure JS on two cores.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Absolute path of the vectors, and whether the folder exists: the loader skips only when
    // it does not, and fails on any other read error (test/vectors/load.ts).
    provide: { vectorsDir, vectorsPresent: existsSync(vectorsDir) },
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: { executablePath: "/usr/bin/chromium", args: chromiumArgs },
      }),
      instances: [{ browser: "chromium" }],
    },
  },
});

declare module "vitest" {
  export interface ProvidedContext {
    vectorsDir: string;
    vectorsPresent: boolean;
  }
}
