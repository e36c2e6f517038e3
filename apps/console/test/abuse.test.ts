import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustedProxyList } from "../src/env";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { clientIp } from "../src/server/http/client-ip";
import { logIn, signUp, signupBody, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

describe("rate limits, lock-out, CSRF and input caps (PGlite)", () => {
  let c: TestConsole;
  let admin: TestAccount;

  beforeAll(async () => {
    c = await startTestConsole({
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        login: { perIp: 100, perAccount: 8, windowSeconds: 60 },
        signup: { perIp: 3, perAccount: 3, windowSeconds: 3600 },
        apiRead: { perIp: 1000, perAccount: 12, windowSeconds: 60 },
      },
      lockout: { maxFailures: 4, windowSeconds: 900, lockSeconds: 900 },
    });
    admin = await signUp(c.api, "admin@example.test");
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("sends X-RateLimit-Limit/Remaining/Reset on API answers", async () => {
    const a = await c.api("/api/health");
    const b = await c.api("/api/health");
    expect(a.headers["x-ratelimit-limit"]).toBe("1000");
    expect(Number(b.headers["x-ratelimit-remaining"])).toBe(Number(a.headers["x-ratelimit-remaining"]) - 1);
    const reset = Number(a.headers["x-ratelimit-reset"]);
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
  });

  it("answers 429 with Retry-After and a JSON error once a class is exhausted per IP", async () => {
    // Sign-up allows 3 per IP per hour here; the admin's sign-up was the first.
    expect((await c.api("/api/auth/signup", { body: signupBody("b@example.test").body })).status).toBe(403);
    expect((await c.api("/api/auth/signup", { body: signupBody("c@example.test").body })).status).toBe(403);
    const r = await c.api("/api/auth/signup", { body: signupBody("d@example.test").body });
    expect(r.status).toBe(429);
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
    expect(r.headers["x-ratelimit-remaining"]).toBe("0");
    expect(r.json).toEqual({ error: { code: "rate_limited", message: expect.any(String) as string, retryable: true } });
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    for (const spoof of ["203.0.113.7", "198.51.100.1, 203.0.113.9"]) {
      const r = await c.api("/api/auth/signup", {
        body: signupBody("e@example.test").body,
        headers: { "x-forwarded-for": spoof },
      });
      expect(r.status).toBe(429);
    }
    const audit = await c.api("/api/audit?action=rate_limit.exceeded", { token: admin.token });
    const entries = (audit.json as { entries: { ip: string }[] }).entries;
    expect(entries.length).toBe(1); // audited once per window, not per refused request
    expect(entries[0]?.ip).toBe("127.0.0.1");
  });

  it("honours X-Forwarded-For only from trusted proxies, reading from the right", () => {
    const trusted = trustedProxyList(["10.0.0.0/8", "::1/128"]);
    const req = (peer: string, xff?: string) =>
      ({
        socket: { remoteAddress: peer },
        headers: xff ? { "x-forwarded-for": xff } : {},
      }) as unknown as IncomingMessage;
    expect(clientIp(req("127.0.0.1", "1.2.3.4"), trusted)).toBe("127.0.0.1");
    expect(clientIp(req("10.1.1.1", "1.2.3.4"), trusted)).toBe("1.2.3.4");
    expect(clientIp(req("10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2"), trusted)).toBe("1.2.3.4");
    expect(clientIp(req("::ffff:10.1.1.1", "1.2.3.4"), trusted)).toBe("1.2.3.4");
    expect(clientIp(req("10.1.1.1", "not-an-ip"), trusted)).toBe("10.1.1.1");
    expect(clientIp(req("10.1.1.1"), trusted)).toBe("10.1.1.1");
  });

  it("locks an account after repeated failures, whether or not it exists", async () => {
    for (const email of ["admin@example.test", "ghost@example.test"]) {
      for (let i = 0; i < 4; i++) expect((await logIn(c.api, email, b64u(randomBytes(32)))).status).toBe(401);
      const r = await logIn(c.api, email, email === admin.email ? admin.authKey : b64u(randomBytes(32)));
      expect(r.status).toBe(423);
      expect(r.json).toMatchObject({ error: { code: "account_locked", retryable: true } });
      expect(Number(r.headers["retry-after"])).toBeGreaterThan(800);
    }
    const audit = await c.api("/api/audit?action=login.locked", { token: admin.token });
    expect((audit.json as { entries: unknown[] }).entries).toHaveLength(2);
  });

  it("limits per account too (a second IP would not help)", async () => {
    const seen: number[] = [];
    for (let i = 0; i < 14; i++) seen.push((await c.api("/api/sessions", { token: admin.token })).status);
    expect(seen).toContain(429);
    expect(seen.indexOf(429)).toBeLessThanOrEqual(12);
  });

  it("refuses cross-site requests even with a valid token, and never reads a cookie", async () => {
    const evil = await c.api("/api/auth/logout", {
      body: {},
      token: admin.token,
      headers: { origin: "https://evil.example" },
    });
    expect(evil.status).toBe(403);
    expect(evil.json).toMatchObject({ error: { code: "origin_mismatch" } });
    const fetchMeta = await c.api("/api/auth/logout", {
      body: {},
      token: admin.token,
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(fetchMeta.status).toBe(403);
    // What a cross-site form can send: no custom header, text/plain, maybe a cookie.
    const form = await c.api("/api/auth/logout", {
      rawBody: "x=1",
      headers: { "content-type": "text/plain", cookie: `token=${admin.token}` },
    });
    expect(form.status).toBe(401);
  });

  it("caps and validates bodies: 413, 415, 400 with field paths and no echo", async () => {
    const big = await c.api("/api/auth/prelogin", {
      rawBody: JSON.stringify({ email: "x".repeat(20_000) }),
      headers: { "content-type": "application/json" },
    });
    expect(big.status).toBe(413);
    const type = await c.api("/api/auth/prelogin", {
      rawBody: "email=a@b.c",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(type.status).toBe(415);
    const extra = await c.api("/api/auth/prelogin", { body: { email: "a@b.test", sneaky: "<script>" } });
    expect(extra.status).toBe(400);
    expect(extra.json).toMatchObject({ error: { code: "validation_failed" } });
    expect(extra.text).not.toContain("<script>");
    const bad = await c.api("/api/auth/login", { body: { email: "not-an-email", authKey: "short" } });
    const issues = (bad.json as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(["email", "authKey"]));
  });

  it("answers unknown routes and methods with JSON errors", async () => {
    expect((await c.api("/api/nothing-here")).json).toMatchObject({ error: { code: "not_found" } });
    expect((await c.api("/api/health", { method: "DELETE" })).json).toMatchObject({
      error: { code: "method_not_allowed" },
    });
  });
});
