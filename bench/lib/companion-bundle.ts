// The companion as install.sh installs it: the one-file esbuild bundle (apps/companion/build.mjs),
// run with plain node. Benchmarks run this rather than the sources through tsx, whose loader adds
// work per call (its `__name` helper on every closure) that the installed companion does not do.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const COMPANION_DIR = path.join(import.meta.dirname, "..", "..", "apps", "companion");
let built: string | undefined;

/** Builds dist/veil-companion.mjs once per benchmark process; returns its path. */
export function companionBundle(): string {
  if (built === undefined) {
    execFileSync(process.execPath, ["build.mjs"], { cwd: COMPANION_DIR, stdio: "ignore" });
    built = path.join(COMPANION_DIR, "dist", "veil-companion.mjs");
  }
  return built;
}

/**
 * Node's flags for the companion as installed: those of the systemd unit's ExecStart
 * (infra/veil-companion.service; none today: docs/PERFORMANCE.md, "Session 15", says why).
 */
export function companionNodeFlags(): string[] {
  const unit = readFileSync(path.join(COMPANION_DIR, "..", "..", "infra", "veil-companion.service"), "utf8");
  const execStart = /^ExecStart=@NODE@ (.*)@LIBDIR@\/veil-companion\.mjs run$/m.exec(unit);
  if (!execStart)
    throw new Error("infra/veil-companion.service: no ExecStart=@NODE@ … @LIBDIR@/veil-companion.mjs run");
  return (execStart[1] ?? "").split(" ").filter(Boolean);
}

/**
 * Node's flags for the console as `npm start` runs it: those before the entry point in
 * apps/console's `start` script (`tsx <flags> src/server/main.ts`).
 */
export function consoleNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(COMPANION_DIR, "..", "console", "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const start = / tsx (.*)src\/server\/main\.ts$/.exec(pkg.scripts.start);
  if (!start) throw new Error("apps/console/package.json: start is not `… tsx <flags> src/server/main.ts`");
  return (start[1] ?? "").split(" ").filter(Boolean);
}

/** `veil-companion <command>` from the bundle, with the unit's Node flags; `nodeArgs` go to node too (e.g. --cpu-prof). */
export function spawnBundledCompanion(
  command: string,
  stateDir: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): ChildProcess & { output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [...companionNodeFlags(), ...nodeArgs, companionBundle(), command], {
    env: { ...process.env, NODE_ENV: "production", VEIL_STATE_DIR: stateDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out = (out + c.toString("utf8")).slice(-20_000)));
  child.stderr?.on("data", (c: Buffer) => (out = (out + c.toString("utf8")).slice(-20_000)));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return Object.assign(child, { output: () => out, exit });
}

/**
 * A bench/lib script bundled by the companion's own build.mjs (into bench/.cache/): the script
 * that starts the companion in-process, so it runs as the installed companion does, and the
 * baselines it is compared with, so both sides run the same way; returns its path.
 */
export function bundleScript(script: string): string {
  const outfile = path.join(import.meta.dirname, "..", ".cache", script.replace(/\.ts$/, ".mjs"));
  execFileSync(process.execPath, ["build.mjs", path.join(import.meta.dirname, script), outfile], {
    cwd: COMPANION_DIR,
    stdio: "ignore",
  });
  return outfile;
}
