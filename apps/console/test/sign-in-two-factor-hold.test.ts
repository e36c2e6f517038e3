// During the two-factor step of a sign-in (client/flows/sign-in.ts) the tab holds the WrapKey
// derived from the password, which opens the account's private keys. It must not outlive the
// step: the step wipes it when the challenge expires (a timer at `expiresAt`, never later than
// the console's 5-minute challenge lifetime whatever time a console names), and when the page
// cancels it (login-view.tsx cancels the step when it unmounts), as well as after finish. A code
// the console accepts after the page cancelled opens a session nobody holds: the step logs it out.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const fake = vi.hoisted(() => ({
  wrapKey: new Uint8Array(32),
  expiresAt: "",
  login2fa: [] as unknown[],
  completed: [] as { key: Uint8Array }[],
  answer: null as null | (() => void),
}));
vi.mock("../src/client/endpoints", () => ({
  prelogin: () => Promise.resolve({ kdf: {} }),
  login: () => Promise.resolve({ status: "two_factor_required", challenge: "c".repeat(43), expiresAt: fake.expiresAt }),
  login2fa: (body: unknown) => {
    fake.login2fa.push(body);
    return new Promise((resolve) => {
      fake.answer = () =>
        resolve({ session: { token: "t", user: { id: crypto.randomUUID() }, sessionId: crypto.randomUUID() } });
    });
  },
}));
vi.mock("../src/client/kdf-params", () => ({ checkServedParams: () => ({}), describeCost: () => "" }));
vi.mock("../src/client/derive-keys", () => ({
  deriveInWorker: () => Promise.resolve({ authKey: new Uint8Array(32).fill(1), wrapKey: fake.wrapKey }),
}));
vi.mock("../src/client/session-store", () => ({
  completeSignIn: (_session: unknown, key: Uint8Array) => {
    fake.completed.push({ key: Uint8Array.from(key) });
    return Promise.resolve();
  },
}));

const { signIn, TWO_FACTOR_HOLD_MAX_MS } = await import("../src/client/flows/sign-in");

/** A fake clock whose timers run when advanced. */
function clock() {
  let now = 1_800_000_000_000;
  const timers = new Map<number, { run: () => void; at: number }>();
  let next = 1;
  return {
    now: () => now,
    setTimer: (run: () => void, ms: number) => {
      timers.set(next, { run, at: now + ms });
      return next++;
    },
    clearTimer: (id: unknown) => void timers.delete(id as number),
    timers,
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...timers])
        if (t.at <= now) {
          timers.delete(id);
          t.run();
        }
    },
  };
}

const wiped = () => fake.wrapKey.every((b) => b === 0);

async function twoFactor(c: ReturnType<typeof clock>, expiresInMs: number) {
  fake.expiresAt = new Date(c.now() + expiresInMs).toISOString();
  const r = await signIn("a@example.com", "password", () => undefined, c);
  if (r.kind !== "two_factor") throw new Error("expected the two-factor step");
  return r.step;
}

beforeEach(() => {
  fake.wrapKey = new Uint8Array(32).fill(7);
  fake.login2fa = [];
  fake.completed = [];
  fake.answer = null;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the WrapKey held for the second factor", () => {
  it("is wiped when the challenge expires, and the step is over", async () => {
    const c = clock();
    const step = await twoFactor(c, 300_000);
    c.advance(299_999);
    expect(wiped()).toBe(false);
    c.advance(1);
    expect(wiped()).toBe(true);
    await expect(step.finish({ code: "123456" })).rejects.toThrow(/over/);
    expect(fake.login2fa).toEqual([]);
  });

  it("is held no longer than the console's challenge lifetime, whatever expiry a console names", async () => {
    const c = clock();
    await twoFactor(c, 365 * 86_400_000);
    c.advance(TWO_FACTOR_HOLD_MAX_MS);
    expect(wiped()).toBe(true);
    expect(TWO_FACTOR_HOLD_MAX_MS).toBe(300_000);
  });

  it("is wiped when the page cancels the step (leaving the page), and the timer goes", async () => {
    const c = clock();
    const step = await twoFactor(c, 300_000);
    step.cancel();
    expect(wiped()).toBe(true);
    expect(c.timers.size).toBe(0);
    step.cancel(); // the unmount effect after a cancel: harmless
  });

  it("an answer being checked when the challenge expires finishes with the key, then wipes it", async () => {
    const c = clock();
    const step = await twoFactor(c, 60_000);
    const finishing = step.finish({ code: "123456" });
    c.advance(60_000);
    expect(wiped()).toBe(false);
    fake.answer?.();
    await finishing;
    expect(fake.completed[0]?.key.every((b) => b === 7)).toBe(true);
    expect(wiped()).toBe(true);
    expect(c.timers.size).toBe(0);
  });

  it("a code accepted after the page cancelled: the new session is logged out, nothing is unlocked", async () => {
    const requests: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
      requests.push({ url, init });
      return Promise.resolve(new Response('{"ok":true}', { headers: { "content-type": "application/json" } }));
    });
    const c = clock();
    const step = await twoFactor(c, 300_000);
    const finishing = step.finish({ code: "123456" });
    step.cancel(); // the page goes while the console checks the code
    expect(wiped()).toBe(true);
    fake.answer?.(); // the console accepts it and opens a session (token "t")
    await expect(finishing).rejects.toThrow(/over/);
    expect(fake.completed).toEqual([]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("/api/auth/logout");
    expect(requests[0]?.init.method).toBe("POST");
    expect(new Headers(requests[0]?.init.headers).get("x-auth-token")).toBe("t");
    expect(requests[0]?.init.credentials).toBe("omit");
  });

  it("the log-out is best effort: a failing network still ends the attempt with the same error", async () => {
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("network down")));
    const c = clock();
    const step = await twoFactor(c, 300_000);
    const finishing = step.finish({ code: "123456" });
    step.cancel();
    fake.answer?.();
    await expect(finishing).rejects.toThrow(/over/);
  });
});
