// Shared pieces of the console browser tests: a real console on a random port with a fresh
// data folder, Debian's Chromium with the project's flags, TOTP codes, screenshots.
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Secret, TOTP } from "otpauth";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../support/chromium.js";
import { DEFAULT_RATE_LIMITS } from "../../apps/console/src/server/config";
import { startConsole, type RunningConsole } from "../../apps/console/src/server/start-console";

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, "artifacts");

/** The RFC 6238 code for a base32 secret at `now + offsetSteps × 30 s` (SHA-1, 6 digits, 30 s). */
export function totpCode(base32: string, offsetSteps = 0): string {
  const totp = new TOTP({ secret: Secret.fromBase32(base32), algorithm: "SHA1", digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

export interface TestConsole {
  readonly running: RunningConsole;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A real console (Next.js UI + API + socket.io) on 127.0.0.1:0 with a fresh PGlite folder. The
 * log-in class allows more than 10 attempts a minute per account here, because one UI walk-through
 * signs the same account in and out that often; the limits themselves are the API tests' job.
 */
export async function startTestConsole(): Promise<TestConsole> {
  const dataDir = await mkdtemp(join(tmpdir(), "veil-console-e2e-"));
  const lines: string[] = [];
  let running: RunningConsole;
  try {
    running = await startConsole({
      port: 0,
      host: "127.0.0.1",
      httpPort: null,
      informPort: null,
      dataDir,
      banner: false,
      log: (l) => lines.push(l),
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        login: { perIp: 200, perAccount: 100, windowSeconds: 60 },
        twoFactor: { perIp: 100, perAccount: 50, windowSeconds: 300 },
      },
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`console did not start: ${String(error)}\n${lines.join("\n")}`);
  }
  return {
    running,
    url: `https://localhost:${running.httpsPort}`,
    async close() {
      await running.close();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Chromium launched with the project's flags; contexts accept the console's self-signed certificate. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
    handleSIGINT: false,
    handleSIGTERM: false,
  });
}

export async function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 }, colorScheme: "light" });
}

/** A page that records console errors, page errors and every /api/ request it sends. */
export interface WatchedPage {
  readonly page: Page;
  readonly errors: string[];
  readonly apiCalls: string[];
  /** Every request body the page sent to /api/ (path and raw text). */
  readonly apiBodies: { path: string; body: string }[];
}

export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  const apiCalls: string[] = [];
  const apiBodies: { path: string; body: string }[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith("/api/")) return;
    apiCalls.push(`${r.method()} ${u.pathname}`);
    const body = r.postData();
    if (body !== null) apiBodies.push({ path: u.pathname, body });
  });
  return { page, errors, apiCalls, apiBodies };
}

/** Saves a full-page screenshot under tests/console/artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Form controls on the page that have no accessible name (no label, aria-label(ledby) or text). */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("input, select, textarea, button"))) {
      if (el instanceof HTMLInputElement && el.type === "hidden") continue;
      const labelled =
        (el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
      const text = el.tagName === "BUTTON" ? (el.textContent ?? "").trim() : "";
      if (!labelled && !text) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}

/**
 * What a browser test file shares across its tests: a console, Chromium, one context and a
 * first watched tab. `open()` in beforeAll, `close()` in afterAll (closes what was opened).
 */
export class BrowserSuite {
  consoleServer!: TestConsole;
  browser!: Browser;
  context!: BrowserContext;
  main!: WatchedPage;

  async open(): Promise<void> {
    [this.consoleServer, this.browser] = await Promise.all([startTestConsole(), launchBrowser()]);
    this.context = await newContext(this.browser);
    this.main = await watchedPage(this.context);
  }

  async close(): Promise<void> {
    await this.context?.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.consoleServer?.close();
  }
}

export const PASSWORD = "correct horse battery staple orbit";
export const NEW_PASSWORD = "violet tugboat lantern quietly 1912";
