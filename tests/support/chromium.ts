import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type LaunchOptions } from "playwright-core";

/** Debian's Chromium; Playwright's own browser downloads cannot reach this machine. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * False where Chromium is missing (`scripts/veil.mjs test` could not install it and sets
 * VEIL_BROWSER_TESTS=0): browser suites `describe.skipIf(!chromiumAvailable)` rather than fail.
 */
export const chromiumAvailable: boolean = process.env["VEIL_BROWSER_TESTS"] !== "0" && existsSync(CHROMIUM_PATH);

/**
 * Flags for a container with no GPU, no user namespaces and no network beyond loopback: no
 * QUIC, no background fetches, no component or sync traffic that would try to leave it.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface LaunchedChromium {
  /** The one browser context; its first page is already open. */
  readonly context: BrowserContext;
  /** The profile folder made for this launch; removed by close(). */
  readonly userDataDir: string;
  /** Closes the browser, kills it if it does not close in time, removes its profile. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Starts a fresh Chromium with a new, empty profile (`--user-data-dir` in a temp folder), so
 * no state (storage, IndexedDB, service workers) leaks between tests.
 */
export async function launchChromium(options: Pick<LaunchOptions, "timeout"> = {}): Promise<LaunchedChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), "veil-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: options.timeout ?? 30_000,
      // Playwright's defaults kill the browser on SIGINT/SIGTERM/SIGHUP of this process, so an
      // interrupted run leaves no Chromium behind.
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), CLOSE_TIMEOUT_MS);
      });
      const result = await Promise.race([context.close().then(() => "closed" as const), timedOut]).catch(
        () => "failed" as const,
      );
      clearTimeout(timer);
      if (result !== "closed") {
        // A hung browser: find its processes by the profile folder on their command line.
        killByUserDataDir(userDataDir);
      }
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    })();
    return closed;
  };

  return { context, userDataDir, close, [Symbol.asyncDispose]: close };
}

/** Sends SIGKILL to the Chromium processes started with this (unique) profile folder. */
function killByUserDataDir(userDataDir: string): void {
  // Linux only, which is all this suite runs on; reads /proc rather than shelling out.
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.includes(`--user-data-dir=${userDataDir}`)) {
      try {
        process.kill(Number(entry), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
