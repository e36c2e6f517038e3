// What an unauthenticated client can do to the per-IP limits and to the console's memory and
// tables: many IPv6 addresses of one /64 share one budget, a refused client adds no counters
// whatever e-mails it names, the counters are capped, and spent log-in state is cleaned up.
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountLockouts, loginChallenges } from "@veil/db";
import { pruneLoginState } from "../src/server/auth/prune-login-state";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { rateLimitKeyForIp } from "../src/server/http/client-ip";
import { RateLimiter } from "../src/server/http/rate-limit";
import { signUp, signupBody, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

describe("per-client limits and what unauthenticated requests leave behind (PGlite)", () => {
  let c: TestConsole;
  let admin: TestAccount;

  beforeAll(async () => {
    // The test talks to the console as its own reverse proxy, so X-Forwarded-For names the client.
    c = await startTestConsole({ trustedProxies: ["127.0.0.1"] });
    admin = await signUp(c.api, "admin@example.test");
  });
  afterAll(async () => {
    await c?.stop();
  });

  const logInFrom = (ip: string, n: number) =>
    c.api("/api/auth/login", {
      body: { email: `probe${n}@example.test`, authKey: b64u(randomBytes(32)) },
      headers: { "x-forwarded-for": ip },
    });

  it("counts IPv6 clients per /64: the 31st log-in-class request from one /64 is refused, another /64 is not", async () => {
    const { perIp } = DEFAULT_RATE_LIMITS.login;
    for (let i = 1; i <= perIp; i++) {
      const hex = i.toString(16);
      expect((await logInFrom(`2001:db8:1:2:${hex}:${hex}:${hex}:${hex}`, i)).status).toBe(401);
    }
    const refused = await logInFrom("2001:db8:1:2:ffff:ffff:ffff:ffff", perIp + 1);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: { code: "rate_limited" } });
    expect((await logInFrom("2001:db8:1:3::1", perIp + 2)).status).toBe(401);
  });

  it("keys IPv4-mapped IPv6 as the IPv4 address in either notation, and IPv6 by its /64", () => {
    expect(rateLimitKeyForIp("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(rateLimitKeyForIp("::ffff:c633:6407")).toBe("198.51.100.7");
    expect(rateLimitKeyForIp("198.51.100.7")).toBe("198.51.100.7");
    expect(rateLimitKeyForIp("2001:DB8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(rateLimitKeyForIp("2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(rateLimitKeyForIp("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitKeyForIp("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(rateLimitKeyForIp("unknown")).toBe("unknown");
  });

  it("a refused client adds no counters, however many e-mails it names", async () => {
    const { perIp } = DEFAULT_RATE_LIMITS.signup;
    const from = { "x-forwarded-for": "203.0.113.5" };
    const signup = (n: number) =>
      c.api("/api/auth/signup", { body: signupBody(`${"x".repeat(150)}${n}@example.test`).body, headers: from });
    for (let n = 0; n < perIp; n++) expect((await signup(n)).status).toBe(403); // no invite
    const size = c.running.services.limiter.size;
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => signup(perIp + batch * 25 + i)));
      expect(answers.every((a) => a.status === 429)).toBe(true);
    }
    expect(c.running.services.limiter.size).toBe(size);
  });

  it("holds at most its cap of counters, dropping the window that started longest ago", () => {
    let now = 0;
    const limiter = new RateLimiter(DEFAULT_RATE_LIMITS, () => now, 100);
    const ip = (i: number) => `10.0.${i >> 8}.${i & 255}`;
    for (let i = 0; i < 150; i++) {
      now += 1;
      limiter.consume("apiRead", ip(i));
    }
    expect(limiter.size).toBe(100);
    const { perIp } = DEFAULT_RATE_LIMITS.apiRead;
    // The newest client's window is still counting; the oldest one's was dropped and starts over.
    expect(limiter.consume("apiRead", ip(149)).remaining).toBe(perIp - 2);
    expect(limiter.consume("apiRead", ip(0)).remaining).toBe(perIp - 1);
    expect(limiter.size).toBe(100);
    limiter.close();
  });

  it("deletes expired challenges and spent lock-out rows, and nothing that still counts", async () => {
    const db = c.running.database.db;
    const policy = c.running.config.lockout;
    const now = new Date();
    const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
    await db.insert(loginChallenges).values([
      { challengeHash: randomBytes(32), userId: admin.userId, expiresAt: ago(1) },
      { challengeHash: randomBytes(32), userId: admin.userId, expiresAt: ago(-300) },
    ]);
    await db.insert(accountLockouts).values([
      // Window over, never locked: behaves like no row.
      { accountKey: "email:spent@example.test", failures: 3, windowStart: ago(policy.windowSeconds + 1) },
      // Window over, lock over.
      {
        accountKey: "email:served@example.test",
        failures: 0,
        windowStart: ago(policy.windowSeconds + 10),
        lockedUntil: ago(1),
      },
      // Window still open: its failures still count.
      { accountKey: "email:counting@example.test", failures: 3, windowStart: ago(10) },
      // Window over but still locked.
      {
        accountKey: "email:locked@example.test",
        failures: 0,
        windowStart: ago(policy.windowSeconds + 10),
        lockedUntil: ago(-60),
      },
    ]);
    await pruneLoginState(db, policy, now);
    const challenges = await db.select().from(loginChallenges).where(eq(loginChallenges.userId, admin.userId));
    expect(challenges.every((ch) => ch.expiresAt > now)).toBe(true);
    expect(challenges).toHaveLength(1);
    const keys = (await db.select({ key: accountLockouts.accountKey }).from(accountLockouts)).map((r) => r.key);
    expect(keys).not.toContain("email:spent@example.test");
    expect(keys).not.toContain("email:served@example.test");
    expect(keys).toContain("email:counting@example.test");
    expect(keys).toContain("email:locked@example.test");
    // The log-ins of the first test (30 unknown e-mails, windows still open) are kept too.
    expect(keys).toContain("email:probe1@example.test");
  });
});
