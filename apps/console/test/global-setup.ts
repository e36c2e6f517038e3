import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const dir = path.join(import.meta.dirname, "..");
const buildId = path.join(dir, ".next", "BUILD_ID");

/**
 * Makes sure a Next.js production build exists for the one test file that serves the UI
 * (server.test.ts). If another build is running (its lock file exists), waits for it first.
 * A failed build does not stop the other suites (they run the API without the UI); the UI
 * suite then fails with a message pointing at `pnpm --filter @veil/console build`.
 */
export default async function setup(): Promise<void> {
  if (existsSync(buildId)) return;
  const lock = path.join(dir, ".next", "lock");
  for (let i = 0; i < 90 && existsSync(lock) && !existsSync(buildId); i++) await new Promise((r) => setTimeout(r, 1000));
  if (existsSync(buildId)) return;
  console.log("[console tests] no .next build found: running next build once");
  try {
    execFileSync(path.join(dir, "node_modules", ".bin", "next"), ["build"], { cwd: dir, stdio: "inherit", env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" } });
  } catch {
    console.error("[console tests] next build failed: the UI suite (server.test.ts) will fail; run `pnpm --filter @veil/console build` to see why");
  }
}
