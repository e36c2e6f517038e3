import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  fromBase64Url,
  fromUtf8,
  initiateSession,
  SESSION_MAX_PLAINTEXT,
  toBase64Url,
  utf8,
  type Session,
} from "../src/crypto";
import {
  encodeSessionOpen,
  MAX_E2E_MESSAGE_BYTES,
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
import { silentLogger, type LogFields, type Logger } from "../src/log";
import { makeAccount, signDelegation, signGrant } from "./harness/fixtures";

interface TestClock extends Clock {
  /** Sets the time; fires nothing. */
  set(ms: number): void;
  /** Moves time on and fires the timeouts then due (intervals fire only on `tick`). */
  advance(ms: number): void;
  tick(): void;
  intervals(): number;
  timeouts(): number;
  /** The longest wait any setTimeout asked for. */
  longestTimeout(): number;
}

/**
 * A clock the test moves by hand; intervals fire on `tick`, timeouts on `advance`. A `leaky`
 * clock forgets nothing it is asked to clear: a timer some code failed to stop.
 */
function testClock(leaky = false): TestClock {
  let now = Date.now();
  const intervals = new Map<number, () => void>();
  const timeouts = new Map<number, { at: number; fn: () => void }>();
  let n = 0;
  let longest = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      longest = Math.max(longest, ms);
      timeouts.set(++n, { at: now + ms, fn });
      return n;
    },
    clearTimeout: (h) => void (leaky || timeouts.delete(h as number)),
    setInterval: (fn) => (intervals.set(++n, fn), n),
    clearInterval: (h) => void (leaky || intervals.delete(h as number)),
    set: (ms) => void (now = ms),
    advance: (ms) => {
      now += ms;
      for (const [id, t] of [...timeouts])
        if (t.at <= now) {
          timeouts.delete(id);
          t.fn();
        }
    },
    tick: () => [...intervals.values()].forEach((f) => f()),
    intervals: () => intervals.size,
    timeouts: () => timeouts.size,
    longestTimeout: () => longest,
  };
}

function setup(
  handlers?: Partial<Record<TRequestType, RequestHandler>>,
  options: { maxSessions?: number; maxSessionsPerAccount?: number; logger?: Logger; leaky?: boolean } = {},
) {
  const instanceId = randomUUID();
  const admin = makeAccount();
  const delegate = makeAccount();
  const hellos: { grantExpiresAt: number }[] = [];
  const instanceBox = makeAccount().box;
  const account = makeAccount();
  const { leaky, logger, ...limits } = options;
  const clock = testClock(leaky);
  const out: TRelayFrame[] = [];
  const responder = new Responder({
    instanceId,
    boxPrivateKey: instanceBox.privateKey,
    signer: admin.identity.publicKey,
    handlers: { ...createRequestHandlers({ rotateToken: () => Promise.resolve("x") }), ...handlers },
    send: (f) => out.push(f),
    clock,
    logger: logger ?? silentLogger,
    ...limits,
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
  /** Sends request `type` with a chosen id and lifetime (the default: a fresh id, 60 s). */
  const sendAs = (s: Session, type: string, body: unknown, id: string, ttlMs: number): string => {
    const frame = s.seal(utf8(JSON.stringify({ kind: "request", id, expiresAt: clock.now() + ttlMs, type, body })));
    responder.handleFrame({ instanceId, sessionId, kind: "transport", frame: toBase64Url(frame) });
    return id;
  };
  const send = (s: Session, type: string, body: unknown = {}): string => sendAs(s, type, body, randomUUID(), 60_000);
  /** Plaintext sizes of every message read, as the browser received them. */
  const received: number[] = [];
  const read = (s: Session): TE2EResponse[] =>
    out
      .splice(0)
      .filter((f) => f.kind === "transport")
      .map((f) => {
        const plaintext = s.open(fromBase64Url(f.frame));
        received.push(plaintext.length);
        return ZE2EResponseSchema.parse(JSON.parse(fromUtf8(plaintext)));
      });
  return { responder, clock, out, open, tryOpen, send, sendAs, read, received, instanceId, sessionId, account, hellos };
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

/** A logger that keeps every line, to check what was logged (and what was not). */
function recordingLogger(): Logger & { lines: { level: string; msg: string; fields: LogFields }[] } {
  const lines: { level: string; msg: string; fields: LogFields }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: LogFields = {}): void =>
      void lines.push({ level, msg, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A device summary whose free-text fields are `text` (what a device on the LAN may report). */
function summary(i: number, text: string) {
  const hex = (n: number): string => n.toString(16).padStart(2, "0");
  return {
    mac: `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`,
    dialect: "unifi",
    status: "online",
    name: text,
    hostname: text,
    kind: "ap",
    model: text.slice(0, 32),
    modelDisplay: text,
    firmware: text,
    ip: "10.0.0.1",
    firstSeen: 0,
    lastSeen: 0,
    intervalSec: 10,
    uptime: 0,
    cpu: 0,
    memoryPct: 0,
    clients: 0,
    locating: false,
  };
}

/** A page of 100 devices whose names are 64 control characters: each escapes to 6 JSON characters, ~200 KB in all. */
const hostilePage = () => ({
  total: 100,
  offset: 0,
  devices: Array.from({ length: 100 }, (_, i) => summary(i, "\u0001".repeat(64))),
  counts: { online: 100, offline: 0, pending: 0 },
});

const codes = (responses: TE2EResponse[]) =>
  responses.map((r) => (r.kind === "error" ? r.error.code : r.kind === "end" ? `end:${r.reason}` : r.kind));

describe("responder: no outgoing message throws out of it or out of a timer", () => {
  it("answers a result over MAX_E2E_MESSAGE_BYTES with `internal`, logs its type and size only, and keeps the session", () => {
    const logger = recordingLogger();
    const t = setup({ "devices.list": () => hostilePage() }, { logger });
    const s = t.open();
    let id = "";
    expect(() => (id = t.send(s, "devices.list", {}))).not.toThrow();
    expect(t.read(s)).toMatchObject([{ kind: "error", id, error: { code: "internal" } }]);
    expect(t.responder.sessions()).toHaveLength(1);
    t.send(s, "ping");
    expect(codes(t.read(s))).toEqual(["result"]);
    const warned = logger.lines.find((l) => l.level === "warn" && l.fields.type === "devices.list");
    expect(warned?.fields).toMatchObject({ requestId: id, kind: "result" });
    expect(warned?.fields.bytes).toBeGreaterThan(MAX_E2E_MESSAGE_BYTES);
    // No payload in the logs.
    expect(JSON.stringify(logger.lines)).not.toContain("\\u0001");
  });

  it("measures UTF-8 bytes, not characters: an answer of 3-byte characters under 60,000 characters but over 60,000 bytes is refused", () => {
    // Within what Noise could seal (so nothing threw before), but past what the browser takes.
    const page = {
      total: 55,
      offset: 0,
      devices: Array.from({ length: 55 }, (_, i) => summary(i, "€".repeat(64))),
      counts: { online: 55, offline: 0, pending: 0 },
    };
    const text = JSON.stringify({ kind: "result", id: randomUUID(), type: "devices.list", body: page });
    expect(text.length).toBeLessThan(MAX_E2E_MESSAGE_BYTES);
    expect(utf8(text).length).toBeGreaterThan(MAX_E2E_MESSAGE_BYTES);
    expect(utf8(text).length).toBeLessThanOrEqual(SESSION_MAX_PLAINTEXT);
    const t = setup({ "devices.list": () => page });
    const s = t.open();
    t.send(s, "devices.list", {});
    expect(t.read(s)).toMatchObject([{ kind: "error", error: { code: "internal" } }]);
    expect(Math.max(...t.received)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
  });

  it("ends a subscription whose event is too large with `error`, clears its timer and keeps the session and its other subscriptions", () => {
    const logger = recordingLogger();
    let big = false;
    const t = setup(
      {
        "devices.watch": (_b, ctx) => ({
          subscriptionId: ctx.subscribe({
            intervalMs: 1000,
            type: "devices.changed",
            produce: () => ({
              ...hostilePage(),
              devices: big ? hostilePage().devices : [],
              removed: [],
              resync: false,
            }),
          }),
        }),
      },
      { logger },
    );
    const s = t.open();
    const watch = t.send(s, "devices.watch", {});
    t.send(s, "system.watch", { intervalMs: 1000 });
    expect(codes(t.read(s))).toEqual(["result", "result"]);
    t.clock.tick();
    expect(codes(t.read(s))).toEqual(["event", "event"]);
    big = true;
    expect(() => t.clock.tick()).not.toThrow();
    const after = t.read(s);
    expect(after).toContainEqual({ kind: "end", subscriptionId: watch, reason: "error" });
    expect(after.filter((r) => r.kind === "event").map((r) => r.kind === "event" && r.type)).toEqual([
      "system.snapshot",
    ]);
    expect(t.clock.intervals()).toBe(1);
    t.clock.tick();
    expect(codes(t.read(s))).toEqual(["event"]);
    expect(t.responder.sessions()).toHaveLength(1);
    expect(Math.max(...t.received)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
    const warned = logger.lines.find((l) => l.level === "warn" && l.fields.type === "devices.changed");
    expect(warned?.fields).toMatchObject({ subscriptionId: watch, kind: "event" });
    expect(warned?.fields.bytes).toBeGreaterThan(MAX_E2E_MESSAGE_BYTES);
    expect(JSON.stringify(logger.lines)).not.toContain("\\u0001");
  });

  it("ends a subscription whose producer throws with `error`, instead of ending the companion", () => {
    const t = setup({
      "devices.watch": (_b, ctx) => ({
        subscriptionId: ctx.subscribe({
          intervalMs: 1000,
          type: "devices.changed",
          produce: () => {
            throw new TypeError("inventory broke");
          },
        }),
      }),
    });
    const s = t.open();
    const watch = t.send(s, "devices.watch", {});
    t.read(s);
    expect(() => t.clock.tick()).not.toThrow();
    expect(t.read(s)).toEqual([{ kind: "end", subscriptionId: watch, reason: "error" }]);
    expect(t.clock.intervals()).toBe(0);
    t.send(s, "ping");
    expect(codes(t.read(s))).toEqual(["result"]);
  });

  it("ends a push stream whose event is too large with `error`, drops what waited behind it, and keeps the session", async () => {
    const stops: string[] = [];
    const t = setup({
      "terminal.open": (body, ctx) => {
        const stream = ctx.stream?.({ type: "terminal.output", onStop: (r) => stops.push(r) });
        if (stream === undefined) throw new Error("no stream");
        stream.push({ data: "small" });
        stream.push({ data: "x".repeat(70_000) });
        stream.push({ data: "behind" });
        return { subscriptionId: stream.id, mac: (body as { mac: string }).mac };
      },
    });
    const s = t.open();
    const id = t.send(s, "terminal.open", { mac: "02:00:00:00:00:01", cols: 80, rows: 24 });
    await flush();
    expect(t.read(s)).toEqual([
      { kind: "result", id, type: "terminal.open", body: { subscriptionId: id, mac: "02:00:00:00:00:01" } },
      { kind: "event", subscriptionId: id, seq: 0, type: "terminal.output", body: { data: "small" } },
      { kind: "end", subscriptionId: id, reason: "error" },
    ]);
    expect(stops).toEqual(["overflow"]);
    expect(t.responder.sessions()).toHaveLength(1);
    t.send(s, "ping");
    expect(codes(t.read(s))).toEqual(["result"]);
  });
});

describe("responder: a reused request id cannot leak subscriptions", () => {
  /** A request id whose replay record expired (1 s lifetime, 2 s later) is new again to the dispatcher. */
  const later = (t: ReturnType<typeof setup>): void => t.clock.set(t.clock.now() + 2000);

  it("refuses a subscription under an id still live (after its replay record expired): no second timer, the first keeps streaming", () => {
    const t = setup();
    const s = t.open(t.clock.now() + 3600_000);
    const id = randomUUID();
    t.sendAs(s, "system.watch", { intervalMs: 1000 }, id, 1000);
    expect(codes(t.read(s))).toEqual(["result"]);
    for (let i = 0; i < 50; i++) {
      later(t);
      t.sendAs(s, "system.watch", { intervalMs: 1000 }, id, 1000);
    }
    const refused = t.read(s);
    expect(refused).toHaveLength(50);
    expect(refused.every((r) => r.kind === "error" && r.id === id && r.error.code === "bad_request")).toBe(true);
    expect(t.clock.intervals()).toBe(1);
    t.clock.tick();
    expect(t.read(s)).toMatchObject([{ kind: "event", subscriptionId: id, seq: 0 }]);
    t.responder.closeAll("shutdown");
    expect(t.clock.intervals()).toBe(0);
  });

  it("refuses a push stream under an id still live without disturbing the live one", async () => {
    const stops: string[] = [];
    const streams: { push(b: unknown): boolean }[] = [];
    const t = setup({
      "terminal.open": (body, ctx) => {
        const stream = ctx.stream?.({ type: "terminal.output", onStop: (r) => stops.push(r) });
        if (stream === undefined) throw new Error("no stream");
        streams.push(stream);
        return { subscriptionId: stream.id, mac: (body as { mac: string }).mac };
      },
    });
    const s = t.open(t.clock.now() + 3600_000);
    const id = randomUUID();
    const open = { mac: "02:00:00:00:00:01", cols: 80, rows: 24 };
    t.sendAs(s, "terminal.open", open, id, 1000);
    later(t);
    t.sendAs(s, "terminal.open", open, id, 1000);
    await flush();
    expect(codes(t.read(s))).toEqual(["result", "bad_request"]);
    expect(stops).toEqual([]);
    expect(streams[0]?.push({ data: "still here" })).toBe(true);
    expect(t.read(s)).toMatchObject([{ kind: "event", subscriptionId: id, seq: 0, body: { data: "still here" } }]);
  });

  it("a timer left over from a closed session never touches a later session under the same session id", () => {
    // A leaky clock keeps firing what the responder cleared: the worst a lost timer could do.
    const t = setup(undefined, { leaky: true });
    const first = t.open(t.clock.now() + 10_000);
    t.send(first, "system.watch", { intervalMs: 1000 });
    t.read(first);
    t.responder.handleFrame({ instanceId: t.instanceId, sessionId: t.sessionId, kind: "close", frame: "" });
    const second = t.open(t.clock.now() + 3600_000);
    t.clock.advance(20_000); // past the first grant: its leftover tick and expiry timer fire
    t.clock.tick();
    expect(t.out.filter((f) => f.kind === "close")).toEqual([]);
    expect(t.read(second)).toEqual([]);
    expect(t.responder.sessions()).toHaveLength(1);
    t.send(second, "ping");
    expect(codes(t.read(second))).toEqual(["result"]);
  });
});

describe("responder: grant expiry without traffic", () => {
  it("closes a quiet session when its grant expires, tells the peer `grant_expired` and stops its subscriptions", () => {
    const t = setup();
    const s = t.open(t.clock.now() + 10_000);
    t.send(s, "system.watch", { intervalMs: 1000 });
    t.read(s);
    t.clock.advance(9_999);
    expect(t.responder.sessions()).toHaveLength(1);
    t.clock.advance(1);
    expect(t.responder.sessions()).toEqual([]);
    expect(t.out.at(-1)).toMatchObject({ kind: "close" });
    expect(fromUtf8(fromBase64Url(t.out.at(-1)?.frame ?? ""))).toBe("grant_expired");
    expect(t.clock.intervals()).toBe(0);
    expect(t.clock.timeouts()).toBe(0);
  });

  it("reaches a grant expiring past the longest timer in steps, and a session closed earlier leaves no timer", () => {
    const t = setup();
    t.open(t.clock.now() + 60_000);
    expect(t.clock.timeouts()).toBe(1);
    t.responder.handleFrame({ instanceId: t.instanceId, sessionId: t.sessionId, kind: "close", frame: "" });
    expect(t.clock.timeouts()).toBe(0);

    const far = 2 ** 31 + 60_000;
    t.open(t.clock.now() + far);
    t.clock.advance(2 ** 31 - 1);
    expect(t.responder.sessions()).toHaveLength(1);
    t.clock.advance(far - (2 ** 31 - 1));
    expect(t.responder.sessions()).toEqual([]);
    expect(fromUtf8(fromBase64Url(t.out.at(-1)?.frame ?? ""))).toBe("grant_expired");
    expect(t.clock.longestTimeout()).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
