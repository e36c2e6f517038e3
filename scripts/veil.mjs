#!/usr/bin/env node
// The one entry point behind `npm start`, `npm test`, `npm run lint|typecheck|bench`.
// A fresh machine has only Node 20+ and npm: this installs the pinned pnpm into .tools/
// (corepack cannot verify signatures against the registry here), installs the workspace
// from the lockfile, builds, and runs the task.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tools = join(root, ".tools");
const pnpmVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.replace(/^pnpm@/, "");
const pnpmBin = join(tools, "node_modules", ".bin", "pnpm");
const CHROMIUM = "/usr/bin/chromium";

// No telemetry from our tools: the machine has no network beyond the package registries.
const quietEnv = { TURBO_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };

// turbo and package scripts look pnpm up on PATH: put the pinned one first.
const PATH = [join(tools, "node_modules", ".bin"), process.env.PATH].filter(Boolean).join(delimiter);

function run(cmd, args, options = {}) {
  const env = { ...process.env, ...quietEnv, ...options.env, PATH };
  const result = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...options, env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(cmd, args, options) {
  const status = run(cmd, args, options);
  if (status !== 0) process.exit(status);
}

function ensurePnpm() {
  const installed = join(tools, "node_modules", "pnpm", "package.json");
  if (existsSync(installed) && JSON.parse(readFileSync(installed, "utf8")).version === pnpmVersion) return;
  console.log(`veil: installing pnpm ${pnpmVersion} into .tools/`);
  must("npm", [
    "install",
    "--prefix",
    tools,
    "--no-save",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    `pnpm@${pnpmVersion}`,
  ]);
}

function pnpm(args, options) {
  must(pnpmBin, args, options);
}

function install() {
  ensurePnpm();
  pnpm(["install", "--frozen-lockfile", "--reporter=append-only"]);
}

/** Browser tests need Debian's Chromium; as root we install it, otherwise we say what to run. */
function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log("veil: installing Debian's chromium for the browser tests");
    if (run("apt-get", ["install", "-y", "-qq", "chromium"]) !== 0) {
      run("apt-get", ["update", "-qq"]);
      run("apt-get", ["install", "-y", "-qq", "chromium"]);
    }
  }
  if (existsSync(CHROMIUM)) return true;
  console.warn(
    "veil: /usr/bin/chromium is missing; browser tests will be skipped. Install it with: sudo apt-get install -y chromium",
  );
  return false;
}

const task = process.argv[2];
switch (task) {
  case "start": {
    install();
    if (!existsSync(join(root, "apps", "console", "package.json"))) {
      console.log("veil: the console is not built yet.");
      break;
    }
    pnpm(["turbo", "run", "build", "--filter=@veil/console..."]);
    pnpm(["--filter", "@veil/console", "start"]);
    break;
  }
  case "test": {
    install();
    const browser = ensureChromium();
    pnpm(["turbo", "run", "build"]);
    const args = ["vitest", "run"];
    if (!browser) args.push("--project", "!crypto-browser");
    pnpm(args, { env: { ...process.env, VEIL_BROWSER_TESTS: browser ? "1" : "0" } });
    break;
  }
  case "lint":
    install();
    pnpm(["turbo", "run", "lint"]);
    pnpm(["exec", "prettier", "--check", "--log-level=warn", "**/*.{ts,tsx,js,mjs,json,css}"]);
    break;
  case "typecheck":
    install();
    pnpm(["turbo", "run", "typecheck"]);
    break;
  case "bench":
    install();
    pnpm(["--filter", "@veil/bench", "bench"]);
    break;
  default:
    console.error("usage: node scripts/veil.mjs start|test|lint|typecheck|bench");
    process.exit(2);
}
