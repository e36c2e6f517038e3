import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { startTestConsole, type TestConsole } from "./helpers/console";

/*
 * The install assets (install.sh, the 3.3 MB companion bundle, its .sha256, the unit) are public:
 * anyone who reaches the console can ask for them. They count against the client's address in
 * the API's read class, with the API's headers and 429, and are served from memory.
 */

const REPO = path.resolve(import.meta.dirname, "..", "..", "..");
const PER_IP = 8;

describe("install assets", () => {
  let c: TestConsole;

  beforeAll(async () => {
    // build.mjs replaces the bundle whole, so a build in another test file at the same time is safe.
    execFileSync(process.execPath, ["build.mjs"], { cwd: path.join(REPO, "apps", "companion"), stdio: "ignore" });
    c = await startTestConsole({
      rateLimits: { ...DEFAULT_RATE_LIMITS, apiRead: { perIp: PER_IP, perAccount: PER_IP, windowSeconds: 60 } },
    });
  });
  afterAll(async () => {
    await c.stop();
  });

  it("are limited like API reads: X-RateLimit headers on each answer, 429 past the limit; the bundle and its .sha256 agree", async () => {
    const script = await c.api("/install.sh");
    expect(script.status).toBe(200);
    expect(script.text).toBe(readFileSync(path.join(REPO, "infra", "install.sh"), "utf8"));
    expect(script.headers["x-ratelimit-limit"]).toBe(String(PER_IP));
    expect(script.headers["x-ratelimit-remaining"]).toBe(String(PER_IP - 1));
    expect(Number(script.headers["x-ratelimit-reset"])).toBeGreaterThan(0);

    const bundle = await c.api("/companion/veil-companion.mjs");
    const sum = await c.api("/companion/veil-companion.mjs.sha256");
    expect(bundle.status).toBe(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
    expect(sum.text).toBe(`${createHash("sha256").update(bundle.text, "utf8").digest("hex")}  veil-companion.mjs\n`);
    // Asked again, the same bytes (from memory).
    const again = await c.api("/companion/veil-companion.mjs");
    expect(again.text === bundle.text).toBe(true);
    expect(again.headers["x-ratelimit-remaining"]).toBe(String(PER_IP - 4));

    // HEAD and a refused method count too; then the budget is spent.
    expect((await c.api("/install.sh", { method: "HEAD" })).status).toBe(200);
    expect((await c.api("/install.sh", { method: "POST", body: {} })).status).toBe(405);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await c.api("/companion/veil-companion.service")).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = await c.api("/companion/veil-companion.mjs");
    expect(refused.status).toBe(429);
    expect(refused.headers["x-ratelimit-remaining"]).toBe("0");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(refused.json).toMatchObject({ error: { code: "rate_limited", retryable: true } });
    expect(refused.text.length).toBeLessThan(1000);
    // One budget with the API's reads: an unknown API path is refused as well.
    expect((await c.api("/api/no-such-route")).status).toBe(429);
  });
});
