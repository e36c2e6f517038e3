import { randomBytes, randomUUID } from "node:crypto";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_E2E_FRAME_BYTES, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import {
  BROWSER_ACCOUNT_LIMIT,
  BROWSER_SOCKET_LIMIT,
  BrowserBudgets,
  FrameBudget,
  HANDSHAKE_ACCOUNT_LIMIT,
  HANDSHAKE_SOCKET_LIMIT,
  refillMs,
  TokenBucket,
  type FrameLimit,
} from "../src/server/instances/frame-budget";
import { invite, signUp, type TestAccount } from "./helpers/accounts";
import { startTestConsole, type TestConsole } from "./helpers/console";
import { browserSocket, connected, sendFrame } from "./helpers/instances";

/** A clock the test moves by hand. */
const manualClock = () => {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

/** A socket stand-in for the budgets: a user id and a disconnect hook the test fires. */
const fakeSocket = (userId: string) => {
  const listeners: (() => void)[] = [];
  return {
    data: { userId },
    once: (_: "disconnect", l: () => void) => listeners.push(l),
    disconnect: () => listeners.splice(0).forEach((l) => l()),
  };
};

const count = (n: number, f: () => boolean): number => Array.from({ length: n }, f).filter(Boolean).length;

describe("relay frame budgets (unit)", () => {
  it("a token bucket allows its burst at once, then its rate, and never more than its burst after idling", () => {
    const clock = manualClock();
    const b = new TokenBucket(100, 10, clock.now);
    expect(count(15, () => b.take())).toBe(10);
    clock.advance(50); // 5 tokens
    expect(count(10, () => b.take())).toBe(5);
    clock.advance(60_000);
    expect(count(50, () => b.take())).toBe(10);
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });

  it("a frame budget charges frames and bytes together and spends nothing on a refusal", () => {
    const clock = manualClock();
    const limit: FrameLimit = { framesPerSec: 1000, frameBurst: 100, bytesPerSec: 10_000, byteBurst: 1_000 };
    const budget = new FrameBudget(limit, clock.now);
    expect(budget.take(900)).toBe(true);
    expect(budget.take(200)).toBe(false); // bytes short, frames plenty
    expect(budget.take(100)).toBe(true); // the refusal spent nothing
    clock.advance(1_000);
    expect(count(150, () => budget.take(1))).toBe(100); // frames short now
  });

  it("lets one socket run far above the old 200 frames/s, and refuses a flood after the burst", () => {
    const clock = manualClock();
    const budgets = new BrowserBudgets(BROWSER_SOCKET_LIMIT, BROWSER_ACCOUNT_LIMIT, clock.now);
    const tab = fakeSocket("u1");
    // A steady 38,000 frames/s of 200-byte frames for 3 s (twice what one session needed to match
    // the bare relay with 20 requests in flight on 2026-11-24, ~17,000): nothing refused.
    let refused = 0;
    for (let ms = 0; ms < 3_000; ms++) {
      clock.advance(1);
      for (let i = 0; i < 38; i++) if (!budgets.take(tab, 200)) refused++;
    }
    expect(refused).toBe(0);
    // A flood: 20,000 frames within one millisecond. The burst passes, the rest is refused.
    clock.advance(1_000);
    expect(count(20_000, () => budgets.take(tab, 200))).toBe(BROWSER_SOCKET_LIMIT.frameBurst);
  });

  it("caps an account across its sockets, leaves other accounts alone, and forgets an account once its sockets have gone", () => {
    const clock = manualClock();
    const budgets = new BrowserBudgets(BROWSER_SOCKET_LIMIT, BROWSER_ACCOUNT_LIMIT, clock.now);
    const tabs = [fakeSocket("flooder"), fakeSocket("flooder"), fakeSocket("flooder")];
    const other = fakeSocket("someone-else");
    const taken = tabs.map((tab) => count(10_000, () => budgets.take(tab, 100)));
    // Each socket could burst 8,000, but the account holds 16,000 in all: the third gets nothing.
    const burst = BROWSER_SOCKET_LIMIT.frameBurst;
    expect(BROWSER_ACCOUNT_LIMIT.frameBurst).toBe(2 * burst);
    expect(taken).toEqual([burst, burst, 0]);
    expect(count(500, () => budgets.take(other, 100))).toBe(500);
    expect(budgets.accounts).toBe(2);
    for (const tab of tabs) tab.disconnect();
    other.disconnect();
    // Kept while reconnecting could still gain from a fresh one, then forgotten.
    expect(budgets.accounts).toBe(2);
    clock.advance(budgets.graceMs);
    expect(budgets.accounts).toBe(0);
  });

  it("keeps an account's budget after its last socket goes until it would have refilled: reconnecting buys no fresh burst", () => {
    const clock = manualClock();
    const budgets = new BrowserBudgets(HANDSHAKE_SOCKET_LIMIT, HANDSHAKE_ACCOUNT_LIMIT, clock.now);
    const { frameBurst, framesPerSec } = HANDSHAKE_ACCOUNT_LIMIT;
    expect(budgets.graceMs).toBe(refillMs(HANDSHAKE_ACCOUNT_LIMIT));
    expect(budgets.graceMs).toBeGreaterThanOrEqual((1000 * frameBurst) / framesPerSec); // 2 s for session opens
    // The attacker's loop: a socket, as many session opens as it takes, gone, a new socket, every 10 ms.
    let accepted = 0;
    const start = clock.now();
    for (let round = 0; round < 50; round++) {
      const tab = fakeSocket("reconnecter");
      accepted += count(2 * frameBurst, () => budgets.take(tab, 4));
      tab.disconnect();
      clock.advance(10);
    }
    const elapsed = clock.now() - start;
    expect(accepted).toBeLessThanOrEqual(frameBurst + Math.ceil((framesPerSec * elapsed) / 1000));
    // Past the grace time the budget is forgotten, and a fresh one holds no more than the kept one would.
    clock.advance(budgets.graceMs);
    expect(budgets.accounts).toBe(0);
    const fresh = fakeSocket("reconnecter");
    expect(count(2 * frameBurst, () => budgets.take(fresh, 4))).toBe(HANDSHAKE_SOCKET_LIMIT.frameBurst);
  });

  it("forgets idle account budgets without a timer, so the map stays bounded by recent accounts", () => {
    const clock = manualClock();
    const budgets = new BrowserBudgets(BROWSER_SOCKET_LIMIT, BROWSER_ACCOUNT_LIMIT, clock.now);
    // 1,000 accounts each connect once and go, 1 ms apart: only those within the grace time stay.
    for (let i = 0; i < 1_000; i++) {
      const tab = fakeSocket(`account-${i}`);
      budgets.take(tab, 1);
      tab.disconnect();
      clock.advance(1);
    }
    expect(budgets.accounts).toBeLessThanOrEqual(budgets.graceMs + 1);
    // An account back within its grace time keeps its entry while connected, however long.
    const back = fakeSocket("account-999");
    budgets.take(back, 1);
    clock.advance(60_000);
    expect(budgets.accounts).toBe(1);
    back.disconnect();
    clock.advance(budgets.graceMs);
    expect(budgets.accounts).toBe(0);
  });
});

describe("relay frame budgets by scope (unit)", () => {
  it("keeps a budget per (socket, scope) and per (account, scope), and forgets them all once the socket has gone", () => {
    const clock = manualClock();
    const budgets = new BrowserBudgets(BROWSER_SOCKET_LIMIT, BROWSER_ACCOUNT_LIMIT, clock.now);
    const tab = fakeSocket("viewer");
    const burst = BROWSER_SOCKET_LIMIT.frameBurst;
    // Scope "a" spent to the last frame; scope "b" of the same socket and account still has its own.
    expect(count(burst + 100, () => budgets.take(tab, 100, clock.now(), "a"))).toBe(burst);
    expect(count(burst + 100, () => budgets.take(tab, 100, clock.now(), "b"))).toBe(burst);
    // The unscoped budget is a third one.
    expect(count(10, () => budgets.take(tab, 100))).toBe(10);
    // A second tab of the account: its own socket budget in "a", but the account's "a" budget is shared.
    const second = fakeSocket("viewer");
    expect(count(burst + 100, () => budgets.take(second, 100, clock.now(), "a"))).toBe(
      BROWSER_ACCOUNT_LIMIT.frameBurst - burst,
    );
    expect(budgets.accounts).toBe(3);
    tab.disconnect();
    clock.advance(budgets.graceMs);
    expect(budgets.accounts).toBe(1);
    second.disconnect();
    clock.advance(budgets.graceMs);
    expect(budgets.accounts).toBe(0);
    // A socket that went gets no budget again (nothing would release it).
    expect(budgets.take(tab, 100, clock.now(), "c")).toBe(false);
    expect(budgets.accounts).toBe(0);
  });
});

describe("relay frame budgets through a real console", () => {
  let c: TestConsole;
  let admin: TestAccount;
  let viewer: TestAccount;
  const sockets: Socket[] = [];
  // The relay's budgets read this frozen clock: a flood is metered the same however slowly this
  // machine sends it (no refill while it runs); each test starts a minute later, buckets full.
  let relayNow = 1_000_000;
  beforeEach(() => {
    relayNow += 60_000;
  });
  const open = async (account: TestAccount): Promise<Socket> => {
    const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
    sockets.push(s);
    await connected(s);
    return s;
  };
  // A transport frame for a session nobody opened: within budget the relay answers not_found.
  const frame = (bytes: number): TRelayFrame => ({
    instanceId: randomUUID(),
    sessionId: randomBytes(16).toString("base64url"),
    kind: "transport",
    frame: randomBytes(Math.floor((bytes * 3) / 4)).toString("base64url"),
  });
  const codes = (acks: TSocketAck[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const a of acks) {
      const k = a.ok ? "ok" : a.error.code;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };

  beforeAll(async () => {
    c = await startTestConsole({ relayClock: () => relayNow });
    admin = await signUp(c.api, "admin@example.test");
    viewer = await invite(c.api, admin, "viewer@example.test", "viewer");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.stop();
  });

  it("refuses a flooding browser socket with rate_limited while another account's socket is unaffected", async () => {
    const flooder = await open(admin);
    const bystander = await open(viewer);
    // 200 frames of 64 KiB sent at once: 12.8 MiB against a 4 MiB burst and 16 MiB/s.
    const big = Array.from({ length: 200 }, () => frame(MAX_E2E_FRAME_BYTES - 16));
    const flood = Promise.all(big.map((f) => sendFrame(flooder, f)));
    const calm = await Promise.all(Array.from({ length: 20 }, () => sendFrame(bystander, frame(200))));
    const flooded = codes(await flood);
    expect(flooded.rate_limited ?? 0).toBeGreaterThan(50);
    expect(flooded.not_found ?? 0).toBeGreaterThan(0); // the burst went through to the routing check
    expect(codes(calm)).toEqual({ not_found: 20 });
    const ack = (await flood).find((a) => !a.ok && a.error.code === "rate_limited");
    expect(ack).toEqual({
      ok: false,
      error: { code: "rate_limited", message: expect.any(String) as string, retryable: true },
    });
  });

  it("refuses a flood of small frames past the burst, and the socket recovers after a pause", async () => {
    const flooder = await open(viewer);
    const acks = await Promise.all(Array.from({ length: 16_000 }, () => sendFrame(flooder, frame(100))));
    const flooded = codes(acks);
    expect(flooded.rate_limited ?? 0).toBeGreaterThan(0);
    expect(flooded.not_found ?? 0).toBeGreaterThanOrEqual(BROWSER_SOCKET_LIMIT.frameBurst);
    relayNow += 500; // half a second later: 20,000 frames' worth of budget again
    expect(codes(await Promise.all(Array.from({ length: 100 }, () => sendFrame(flooder, frame(100)))))).toEqual({
      not_found: 100,
    });
  });
});
