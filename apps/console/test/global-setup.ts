import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { defaultMigrationsFolder, openDatabase } from "@veil/db";

const dir = path.join(import.meta.dirname, "..");
const buildId = path.join(dir, ".next", "BUILD_ID");

/**
 * Makes sure a Next.js production build exists for the one test file that serves the UI
 * (server.test.ts). If another build is running (its lock file exists), waits for it first.
 * A failed build does not stop the other suites (they run the API without the UI); the UI
 * suite then fails with a message pointing at `pnpm --filter @veil/console build`.
 */
export default async function setup({
  provide,
}: {
  provide: (key: "pgliteTemplate", value: string) => void;
}): Promise<void> {
  provide("pgliteTemplate", await pgliteTemplate());
  if (existsSync(buildId)) return;
  const lock = path.join(dir, ".next", "lock");
  for (let i = 0; i < 90 && existsSync(lock) && !existsSync(buildId); i++)
    await new Promise((r) => setTimeout(r, 1000));
  if (existsSync(buildId)) return;
  console.log("[console tests] no .next build found: running next build once");
  try {
    execFileSync(path.join(dir, "node_modules", ".bin", "next"), ["build"], {
      cwd: dir,
      stdio: "inherit",
      env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    });
  } catch {
    console.error(
      "[console tests] next build failed: the UI suite (server.test.ts) will fail; run `pnpm --filter @veil/console build` to see why",
    );
  }
}

/**
 * Creating a PGlite database costs ~6 s and ~0.7 GiB; opening an existing folder ~0.7 s. Each
 * test console starts from a copy of one migrated template, kept per migrations hash.
 */
async function pgliteTemplate(): Promise<string> {
  const folder = defaultMigrationsFolder();
  const hash = createHash("sha256");
  for (const f of readdirSync(folder, { recursive: true }).map(String).sort()) {
    const p = path.join(folder, f);
    if (f.endsWith(".sql") || f.endsWith(".json")) hash.update(f).update(readFileSync(p));
  }
  const dir = path.join(tmpdir(), `veil-pglite-template-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(path.join(dir, "pglite", "PG_VERSION"))) return dir;
  const building = `${dir}.${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const db = await openDatabase({ dataDir: building });
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return dir;
}

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
