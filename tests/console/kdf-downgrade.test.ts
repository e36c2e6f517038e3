// Attack: a malicious or breached console serves weak (or absurd) Argon2id parameters at
// pre-login, so that the auth key it then captures is cheap to brute-force (or the browser is
// tied up). The browser code must refuse BEFORE deriving anything and before any log-in
// request leaves the page. The real console serves the UI; page.route() plays the attacker by
// rewriting the pre-login answer. Also: a 429 with Retry-After reaches the user as a wait time.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Route } from "playwright-core";
import { chromiumAvailable } from "../support/chromium.js";
import { launchBrowser, newContext, screenshot, startTestConsole, watchedPage, type TestConsole } from "./harness";

let consoleServer: TestConsole;
let browser: Browser;
let context: BrowserContext;

const SALT = "AAAAAAAAAAAAAAAAAAAAAA"; // 16 zero bytes, base64url

/** Opens /login with pre-login answered by `fulfil`, submits, and reports what the page did. */
async function attemptLogin(fulfil: (route: Route) => Promise<void>, shot?: string) {
  const watched = await watchedPage(context);
  const { page } = watched;
  let workers = 0;
  page.on("worker", () => workers++);
  await page.route("**/api/auth/prelogin", fulfil);
  await page.goto(`${consoleServer.url}/login`);
  await page.getByLabel("E-mail").fill("victim@example.test");
  await page.getByLabel("Password", { exact: true }).fill("a perfectly fine passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert").filter({ hasText: /\S/ }).first();
  await alert.waitFor({ timeout: 15_000 });
  const message = (await alert.textContent()) ?? "";
  if (shot) await screenshot(page, shot);
  // Give a (wrongly) started derivation and log-in time to show up before counting.
  await page.waitForTimeout(750);
  const result = {
    message,
    workers,
    apiCalls: [...watched.apiCalls],
    url: page.url(),
    storage: await page.evaluate(() => sessionStorage.length),
  };
  await page.close();
  return result;
}

const weak = (kdf: Record<string, unknown>) => (route: Route) =>
  route.fulfill({
    status: 200,
    contentType: "application/json",
    body: JSON.stringify({ kdf: { alg: "argon2id", salt: SALT, ...kdf } }),
  });

describe.skipIf(!chromiumAvailable)("browser refuses out-of-range KDF params from the console", () => {
  beforeAll(async () => {
    [consoleServer, browser] = await Promise.all([startTestConsole(), launchBrowser()]);
    context = await newContext(browser);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await consoleServer?.close();
  });

  test.each([
    {
      name: "memory below the floor (8 MiB)",
      kdf: { memoryKiB: 8192, iterations: 3, parallelism: 1 },
      says: /memory 8192 KiB, below the minimum of 65536 KiB/,
    },
    {
      name: "one pass",
      kdf: { memoryKiB: 65536, iterations: 1, parallelism: 1 },
      says: /passes 1, below the minimum of 3/,
    },
    {
      name: "memory above the ceiling (4 GiB)",
      kdf: { memoryKiB: 4_194_304, iterations: 3, parallelism: 1 },
      says: /memory 4194304 KiB, above the maximum of 1048576 KiB/,
    },
  ])("$name: refused before deriving, nothing sent", async ({ name, kdf, says }) => {
    const r = await attemptLogin(weak(kdf), name.startsWith("memory below") ? "11-login-weak-kdf-refused" : undefined);
    expect(r.message).toMatch(says);
    expect(r.message).toContain("Nothing was derived or sent");
    expect(r.apiCalls).toEqual(["POST /api/auth/prelogin"]); // no /api/auth/login, no /api/me
    expect(r.workers).toBe(0); // the Argon2id worker never started
    expect(r.url).toMatch(/\/login$/);
    expect(r.storage).toBe(0);
  });

  test("a malformed pre-login answer is refused by the protocol schema", async () => {
    const r = await attemptLogin((route) =>
      route.fulfill({
        status: 200,
        contentType: "application/json",
        body: JSON.stringify({ kdf: { alg: "scrypt", N: 2 } }),
      }),
    );
    expect(r.message).toContain("does not understand");
    expect(r.apiCalls).toEqual(["POST /api/auth/prelogin"]);
    expect(r.workers).toBe(0);
  });

  test("429 with Retry-After shows the stable message and the wait", async () => {
    const r = await attemptLogin((route) =>
      route.fulfill({
        status: 429,
        contentType: "application/json",
        headers: { "retry-after": "42" },
        body: JSON.stringify({
          error: { code: "rate_limited", message: "Too many requests. Slow down and try again.", retryable: true },
        }),
      }),
    );
    expect(r.message).toBe("Too many requests. Slow down and try again. Try again in 42 s.");
    expect(r.apiCalls).toEqual(["POST /api/auth/prelogin"]);
  });

  test("control: the real console's params are accepted (unknown e-mail gets believable defaults)", async () => {
    const r = await attemptLogin((route) => route.continue());
    expect(r.message).toContain("The e-mail or password is wrong.");
    expect(r.workers).toBe(1);
    expect(r.apiCalls).toEqual(["POST /api/auth/prelogin", "POST /api/auth/login"]);
  });
});
