import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromBase64Url, fromUtf8, initiateSession, toBase64Url, utf8, type Session } from "../src/crypto";
import {
  encodeSessionOpen,
  SESSION_PROTOCOL_VERSION,
  ZE2EResponseSchema,
  type TE2EResponse,
  type TRelayFrame,
  type TRequestType,
} from "../src/protocol";
import type { Clock } from "../src/clock";
import { Responder } from "../src/e2e/responder";
import { createRequestHandlers } from "../src/e2e/requests/create-handlers";
import type { RequestHandler } from "../src/e2e/request-context";
import { silentLogger } from "../src/log";
import { makeAccount, signDelegation, signGrant } from "./harness/fixtures";

/** A clock the test moves by hand; intervals fire on `tick`. */
function testClock(): Clock & { set(ms: number): void; tick(): void; intervals(): number } {
  let now = Date.now();
  const intervals = new Map<number, () => void>();
  let n = 0;
  return {
    now: () => now,
    setTimeout: () => 0,
    clearTimeout: () => {},
    setInterval: (fn) => (intervals.set(++n, fn), n),
    clearInterval: (h) => void intervals.delete(h as number),
    set: (ms) => void (now = ms),
    tick: () => [...intervals.values()].forEach((f) => f()),
    intervals: () => intervals.size,
  };
}

function setup(
  handlers?: Partial<Record<TRequestType, RequestHandler>>,
  options: { maxSessions?: number; maxSessionsPerAccount?: number } = {},
) {
  const instanceId = randomUUID();
  const admin = makeAccount();
  const delegate = makeAccount();
  const hellos: { grantExpiresAt: number }[] = [];
  const instanceBox = makeAccount().box;
  const account = makeAccount();
  const clock = testClock();
  const out: TRelayFrame[] = [];
  const responder = new Responder({
    instanceId,
    boxPrivateKey: instanceBox.privateKey,
    signer: admin.identity.publicKey,
    handlers: { ...createRequestHandlers({ rotateToken: () => Promise.resolve("x") }), ...handlers },
    send: (f) => out.push(f),
    clock,
    logger: silentLogger,
    ...options,
  });
  const sessionId = toBase64Url(new Uint8Array(16).fill(1));
  /** The handshake reply to a session open: the companion's handshake frame, or its close. */
  const handshake = (
    expiresAt: number,
    sid: string,
    who: typeof account,
    delegationExpiresAt?: number,
  ): { pending: ReturnType<typeof initiateSession>; reply?: TRelayFrame } => {
    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId: who.accountId,
      accountSecretKey: who.box.privateKey,
      instancePublicKey: instanceBox.publicKey,
    });
    // With `delegationExpiresAt`, a delegated admin signs the grant under a delegation lasting that long.
    const bundle =
      delegationExpiresAt === undefined
        ? signGrant({ signer: admin, account: who, instanceId, role: "operator", expiresAt })
        : signGrant({
            signer: delegate,
            account: who,
            instanceId,
            role: "operator",
            expiresAt,
            delegation: signDelegation(admin, delegate, instanceId, delegationExpiresAt),
          });
    responder.handleFrame({
      instanceId,
      sessionId: sid,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(JSON.stringify(bundle), pending.message)),
    });
    return { pending, reply: out.shift() };
  };
  const open = (expiresAt = clock.now() + 60_000, delegationExpiresAt?: number): Session => {
    const { pending, reply } = handshake(expiresAt, sessionId, account, delegationExpiresAt);
    if (reply?.kind !== "handshake") throw new Error("no handshake reply");
    const opened = pending.finish(fromBase64Url(reply.frame));
    hellos.push(JSON.parse(fromUtf8(opened.payload)) as { grantExpiresAt: number });
    return opened.session;
  };
  /** Opens session `sid` for `who`; the companion's answer kind, and its text when it is a close. */
  const tryOpen = (sid: string, who: typeof account): string => {
    const { reply } = handshake(clock.now() + 60_000, sid, who);
    return reply?.kind === "close" ? `close:${fromUtf8(fromBase64Url(reply.frame))}` : (reply?.kind ?? "none");
  };
  const send = (s: Session, type: string, body: unknown = {}): string => {
    const id = randomUUID();
    const frame = s.seal(utf8(JSON.stringify({ kind: "request", id, expiresAt: clock.now() + 60_000, type, body })));
    responder.handleFrame({ instanceId, sessionId, kind: "transport", frame: toBase64Url(frame) });
    return id;
  };
  const read = (s: Session): TE2EResponse[] =>
    out
      .splice(0)
      .filter((f) => f.kind === "transport")
      .map((f) => ZE2EResponseSchema.parse(JSON.parse(fromUtf8(s.open(fromBase64Url(f.frame))))));
  return { responder, clock, out, open, tryOpen, send, read, instanceId, sessionId, account, hellos };
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe("responder limits", () => {
  it("refuses requests beyond the per-session queue with rate_limited", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const t = setup({ ping: async (_b, ctx) => (await gate, { receivedAt: ctx.now() }) });
    const s = t.open();
    for (let i = 0; i < 70; i++) t.send(s, "ping");
    await flush();
    const early = t.read(s);
    expect(early.length).toBe(6);
    expect(early.every((r) => r.kind === "error" && r.error.code === "rate_limited")).toBe(true);
    release();
    await flush();
    expect(t.read(s).filter((r) => r.kind === "result").length).toBe(64);
  });

  it("answers in arrival order behind a slower request, and at once when nothing is ahead", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const t = setup({
      ping: (_b, ctx) => (calls++ === 0 ? gate.then(() => ({ receivedAt: ctx.now() })) : { receivedAt: ctx.now() }),
    });
    const s = t.open();
    const ids = (responses: TE2EResponse[]) => responses.map((r) => (r.kind === "result" ? r.id : r.kind));
    const slow = t.send(s, "ping");
    const quick = t.send(s, "ping"); // its handler answers at once, but it waits behind the slow one
    await flush();
    expect(t.read(s)).toEqual([]);
    release();
    await flush();
    expect(ids(t.read(s))).toEqual([slow, quick]);
    // Nothing ahead: the answer is out before handleFrame returns.
    const now = t.send(s, "ping");
    expect(ids(t.read(s))).toEqual([now]);
  });

  /** A session whose first `ping` waits for `release`; the others answer at once. */
  function gated() {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let pings = 0;
    const t = setup({
      ping: (_b, ctx) => (pings++ === 0 ? gate.then(() => ({ receivedAt: ctx.now() })) : { receivedAt: ctx.now() }),
    });
    return { t, release: () => release(), pings: () => pings };
  }

  it("requests queued behind a slow one do not run once their session is closed, and nothing subscribes", async () => {
    const { t, release, pings } = gated();
    const s = t.open();
    t.send(s, "ping"); // slow
    t.send(s, "system.watch", { intervalMs: 1000 }); // waits behind it
    t.send(s, "ping"); // waits too
    await flush();
    // The session ends while they wait (here the console says the browser went away; a revocation
    // or the companion's own close does the same).
    t.responder.handleFrame({ instanceId: t.instanceId, sessionId: t.sessionId, kind: "close", frame: "" });
    release();
    await flush();
    expect(pings()).toBe(1);
    expect(t.clock.intervals()).toBe(0);
    expect(t.responder.sessions()).toEqual([]);
  });

  it("requests queued behind a slow one do not run after the grant expired: the session closes", async () => {
    const { t, release, pings } = gated();
    const s = t.open(t.clock.now() + 10_000);
    t.send(s, "ping");
    t.send(s, "system.watch", { intervalMs: 1000 });
    await flush();
    t.clock.set(t.clock.now() + 20_000);
    release();
    await flush();
    expect(pings()).toBe(1);
    expect(t.clock.intervals()).toBe(0);
    expect(fromUtf8(fromBase64Url(t.out.at(-1)?.frame ?? ""))).toBe("grant_expired");
    expect(t.responder.sessions()).toEqual([]);
  });

  it("caps the sessions of one account, so one account cannot take every session slot", () => {
    const t = setup(undefined, { maxSessions: 8, maxSessionsPerAccount: 3 });
    const other = makeAccount();
    const sid = (n: number): string => toBase64Url(new Uint8Array(16).fill(n));
    expect([1, 2, 3, 4].map((n) => t.tryOpen(sid(n), t.account))).toEqual([
      "handshake",
      "handshake",
      "handshake",
      "close:too_many_sessions",
    ]);
    // Another account still gets in; closing one of the first account's sessions frees its slot.
    expect(t.tryOpen(sid(5), other)).toBe("handshake");
    t.responder.close(sid(1), "peer_closed", false);
    expect(t.tryOpen(sid(6), t.account)).toBe("handshake");
  });

  it("caps live subscriptions per session and streams events on the clock", async () => {
    const t = setup();
    const s = t.open();
    for (let i = 0; i < 9; i++) t.send(s, "system.watch", { intervalMs: 1000 });
    await flush();
    const res = t.read(s);
    expect(res.filter((r) => r.kind === "result").length).toBe(8);
    expect(res.at(-1)).toMatchObject({ kind: "error", error: { code: "too_many_subscriptions" } });
    t.clock.tick();
    expect(t.read(s).filter((r) => r.kind === "event").length).toBe(8);
  });

  it("ends the session (and its streams) when the grant expires", async () => {
    const t = setup();
    const s = t.open(t.clock.now() + 10_000);
    t.send(s, "system.watch", { intervalMs: 1000 });
    await flush();
    t.read(s);
    t.clock.set(t.clock.now() + 20_000);
    t.clock.tick();
    expect(t.out.at(-1)).toMatchObject({ kind: "close" });
    expect(fromUtf8(fromBase64Url(t.out.at(-1)?.frame ?? ""))).toBe("grant_expired");
    expect(t.responder.sessions()).toEqual([]);
  });

  it("a delegated admin's grant lasts no longer than its delegation: the session ends when the delegation does", () => {
    const t = setup();
    const start = t.clock.now();
    const s = t.open(start + 3600_000, start + 10_000);
    // The hello tells the browser when the session will end: the delegation's expiry, not the grant's.
    expect(t.hellos.at(-1)?.grantExpiresAt).toBe(start + 10_000);
    t.send(s, "ping");
    expect(t.read(s)).toMatchObject([{ kind: "result" }]);
    t.clock.set(start + 20_000);
    t.send(s, "ping");
    expect(t.out.filter((f) => f.kind === "transport")).toEqual([]);
    expect(t.out.at(-1)).toMatchObject({ kind: "close" });
    expect(fromUtf8(fromBase64Url(t.out.at(-1)?.frame ?? ""))).toBe("grant_expired");
    expect(t.responder.sessions()).toEqual([]);
  });

  it("answers malformed and unknown requests with typed errors", async () => {
    const t = setup();
    const s = t.open();
    t.responder.handleFrame({ instanceId: "x", sessionId: "y", kind: "transport", frame: "" });
    t.send(s, "no.such.type");
    t.send(s, "system.watch", { intervalMs: 5 });
    await flush();
    expect(t.read(s).map((r) => (r.kind === "error" ? r.error.code : r.kind))).toEqual(["unknown_type", "bad_request"]);
  });
});
