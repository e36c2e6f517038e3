// What someone who has a TOTP user's password, but not the second factor, can get out of
// POST /api/auth/login/2fa: each wrong code counts towards the account's lock-out however many
// times they log in again, parallel requests share one challenge's attempts, and a new challenge
// brings no new rate-limit budget.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginChallenges } from "@veil/db";
import { login2fa } from "../src/server/api/routes/login-2fa";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { totpCode } from "../src/server/auth/totp";
import { invite, logIn, signUp, stepUp, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";

const MAX_FAILURES = 4;
const TWO_FACTOR_PER_ACCOUNT = 10;

describe("2FA guessing with a known password (PGlite)", () => {
  let c: TestConsole;
  let admin: TestAccount;

  beforeAll(async () => {
    c = await startTestConsole({
      rateLimits: {
        ...DEFAULT_RATE_LIMITS,
        login: { perIp: 1000, perAccount: 1000, windowSeconds: 60 },
        twoFactor: { perIp: 1000, perAccount: TWO_FACTOR_PER_ACCOUNT, windowSeconds: 300 },
      },
      lockout: { maxFailures: MAX_FAILURES, windowSeconds: 900, lockSeconds: 900 },
    });
    admin = await signUp(c.api, "admin@example.test");
  });
  afterAll(async () => {
    await c?.stop();
  });

  /** An operator with TOTP on; set-up and confirm spend 2 of the user's 2FA budget. */
  async function totpUser(email: string): Promise<{ account: TestAccount; secret: Uint8Array }> {
    const account = await invite(c.api, admin, email, "operator");
    await stepUp(c.api, account);
    const setup = await c.api("/api/account/totp/setup", { body: {}, token: account.token });
    const { Secret } = await import("otpauth");
    const secret = new Uint8Array(Secret.fromBase32((setup.json as { secret: string }).secret).bytes);
    const confirm = await c.api("/api/account/totp/confirm", {
      body: { code: totpCode(secret) },
      token: account.token,
    });
    if (confirm.status !== 200) throw new Error(`TOTP confirm failed: ${confirm.status} ${confirm.text}`);
    return { account, secret };
  }

  async function challengeFor(account: TestAccount): Promise<string> {
    const r = await logIn(c.api, account.email, account.authKey);
    expect(r.json).toMatchObject({ status: "two_factor_required" });
    return (r.json as { challenge: string }).challenge;
  }

  /** A code that is wrong now and in the neighbouring steps the console also accepts. */
  function wrongCode(secret: Uint8Array): string {
    const valid = new Set([-60_000, -30_000, 0, 30_000, 60_000].map((d) => totpCode(secret, Date.now() + d)));
    for (let n = 0; ; n++) {
      const code = String(n).padStart(6, "0");
      if (!valid.has(code)) return code;
    }
  }

  const guess = (challenge: string, code: string) => c.api("/api/auth/login/2fa", { body: { challenge, code } });

  it("a right password does not reset the wrong codes: they lock the account across log-ins", async () => {
    const { account, secret } = await totpUser("locked@example.test");
    const first = await challengeFor(account);
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await guess(first, wrongCode(secret))).status).toBe(401);
    // The password again, for a fresh challenge: the count goes on from where it was.
    const second = await challengeFor(account);
    expect((await guess(second, wrongCode(secret))).status).toBe(401);
    const after = await logIn(c.api, account.email, account.authKey);
    expect(after.status).toBe(423);
    expect(after.json).toMatchObject({ error: { code: "account_locked" } });
    // Locked means locked: the right code on a still-open challenge is refused too.
    const right = await guess(second, totpCode(secret, Date.now() + 30_000));
    expect(right.status).toBe(423);
  });

  it("parallel wrong codes on one challenge get at most 5 attempts between them", async () => {
    const { account, secret } = await totpUser("parallel@example.test");
    const challenge = await challengeFor(account);
    // The route's handler itself, 12 times at once: requests that really arrive together (many
    // connections, several nodes) interleave like this at the database, which HTTPS requests from
    // one test process, staggered by their TLS handshakes, do not reliably show.
    const context = (code: string) =>
      ({
        services: c.running.services,
        ip: "192.0.2.1",
        userAgent: null,
        params: {},
        body: { challenge, code },
        query: undefined,
        auth: null,
      }) as unknown as Parameters<typeof login2fa.handler>[0];
    const answers = await Promise.allSettled(
      Array.from({ length: 12 }, () => login2fa.handler(context(wrongCode(secret)))),
    );
    expect(answers.every((a) => a.status === "rejected")).toBe(true);
    const [row] = await c.running.database.db
      .select({ attempts: loginChallenges.attempts })
      .from(loginChallenges)
      .where(eq(loginChallenges.userId, account.userId));
    expect(row?.attempts).toBe(5);
    const audit = await c.api(`/api/audit?action=login.2fa_failure&actor=${account.userId}&limit=100`, {
      token: admin.token,
    });
    const failures = (audit.json as { entries: unknown[] }).entries;
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThanOrEqual(5);
  });

  it("the 2FA rate limit counts per user: logging in again for a new challenge brings no new budget", async () => {
    const { account, secret } = await totpUser("budget@example.test");
    const challenges = [await challengeFor(account), await challengeFor(account), await challengeFor(account)];
    // Set-up and confirm spent 2; 8 more are allowed across all three challenges, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < TWO_FACTOR_PER_ACCOUNT - 1; i++)
      statuses.push((await guess(challenges[i % 3] ?? "", wrongCode(secret))).status);
    expect(statuses.slice(0, TWO_FACTOR_PER_ACCOUNT - 2)).not.toContain(429);
    expect(statuses.at(-1)).toBe(429);
  });
});
