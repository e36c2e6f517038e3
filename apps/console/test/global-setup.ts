import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

/** Builds the Next.js app once if there is no production build yet (~15 s). */
export default function setup(): void {
  const dir = path.join(import.meta.dirname, "..");
  if (existsSync(path.join(dir, ".next", "BUILD_ID"))) return;
  console.log("[console tests] no .next build found: running next build once");
  execFileSync(path.join(dir, "node_modules", ".bin", "next"), ["build"], { cwd: dir, stdio: "inherit", env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" } });
}
