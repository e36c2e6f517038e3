import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameOutbox, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import { CompanionHub } from "../src/server/instances/companion-hub";
import { closeFrame, type CompanionNamespace, type CompanionSocket } from "../src/server/instances/relay-sockets";
import { COMPANION_SOCKET_LIMIT, FrameBudget } from "../src/server/instances/frame-budget";
import { listenToOtherNodes, type NodeChannel } from "../src/server/instances/other-node-relay";
import {
  MAX_REMOTE_SESSIONS_PER_ACCOUNT,
  MAX_REMOTE_SESSIONS_PER_INSTANCE,
  REMOTE_BROWSER_GRACE_MS,
  RemoteSessions,
} from "../src/server/instances/remote-sessions";
import type { ConsoleServices } from "../src/server/services";

/** A node channel the test drives: what another node's events would call; what this node emits, recorded. */
function channel(): NodeChannel & { deliver(event: string, ...args: unknown[]): void; emitted: unknown[][] } {
  const events = new EventEmitter();
  const emitted: unknown[][] = [];
  return {
    emitted,
    serverSideEmit: (event, ...args) => emitted.push([event, ...args]) > 0,
    on: (event, listener) => events.on(event, listener),
    deliver: (event, ...args) => void events.emit(event, ...args),
  };
}

const sessionId = (n: number): string => Buffer.alloc(16, n).toString("base64url");

describe("events from other console nodes", () => {
  it("hands on well-formed events, drops malformed ones with a log line, and never throws out of a handler", () => {
    const c = channel();
    const log: string[] = [];
    const seen: unknown[] = [];
    listenToOtherNodes(
      c,
      {
        frame: (f, browser) => seen.push(["frame", f.sessionId, browser]),
        answer: (f, browser) => seen.push(["answer", f.sessionId, browser]),
        companion: (id, socketId) => seen.push(["companion", id, socketId]),
        revoke: (id) => {
          if (id === "00000000-0000-4000-8000-000000000000") throw new Error("boom");
          seen.push(["revoke", id]);
        },
      },
      (line) => log.push(line),
    );
    const id = randomUUID();
    const frame: TRelayFrame = {
      instanceId: id,
      sessionId: "AAAAAAAAAAAAAAAAAAAAAA",
      kind: "transport",
      frame: "AAAA",
    };
    const browser = { accountId: randomUUID(), browserId: "browser-socket-1" };
    c.deliver("node:frame", frame, browser);
    c.deliver("node:frame", { ...frame, kind: "handshake" }, browser);
    c.deliver("node:answer", frame, browser);
    c.deliver("node:companion", id, "socket-1");
    c.deliver("node:revoke", id);
    expect(seen).toEqual([
      ["frame", frame.sessionId, browser],
      ["frame", frame.sessionId, browser],
      ["answer", frame.sessionId, browser],
      ["companion", id, "socket-1"],
      ["revoke", id],
    ]);
    c.deliver("node:frame", { ...frame, kind: "other" }, browser);
    c.deliver("node:frame", frame);
    c.deliver("node:frame", frame, { accountId: "not-an-id", browserId: "browser-socket-1" });
    c.deliver("node:answer", { ...frame, instanceId: "x" }, browser);
    c.deliver("node:answer", frame);
    c.deliver("node:companion", "not-an-id", "socket-1");
    c.deliver("node:revoke", 42);
    expect(() => c.deliver("node:revoke", "00000000-0000-4000-8000-000000000000")).not.toThrow();
    expect(seen).toHaveLength(5);
    expect(log).toEqual([
      "relay: a malformed node:frame from another node was dropped",
      "relay: a malformed node:frame from another node was dropped",
      "relay: a malformed node:frame from another node was dropped",
      "relay: a malformed node:answer from another node was dropped",
      "relay: a malformed node:answer from another node was dropped",
      "relay: a malformed node:companion from another node was dropped",
      "relay: a malformed node:revoke from another node was dropped",
      "relay: node:revoke from another node failed: boom",
    ]);
  });
});

describe("sessions browsers on other nodes opened with a companion here", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const alice = { accountId: randomUUID(), browserId: "alice-tab" };
  const mallory = { accountId: randomUUID(), browserId: "mallory-tab" };

  it("are bounded per account and per instance without pushing out another account's, keep their id for the browser that opened it, and go with their companion", () => {
    const remote = new RemoteSessions();
    const id = randomUUID();
    expect(remote.open(id, sessionId(0), alice)).toEqual({ evicted: undefined });
    // Another browser cannot take the id over; the same one may send its handshake again.
    expect(remote.open(id, sessionId(0), mallory)).toBeNull();
    expect(remote.open(id, sessionId(0), alice)).toEqual({ evicted: undefined });
    // An id names one session here, whatever its instance: not even its own browser reuses it.
    expect(remote.open(randomUUID(), sessionId(0), alice)).toBeNull();
    expect(remote.open(randomUUID(), sessionId(0), mallory)).toBeNull();
    // One account past its cap loses its own oldest sessions, never alice's.
    for (let n = 1; n <= MAX_REMOTE_SESSIONS_PER_ACCOUNT; n++) remote.open(id, `m${n}`, mallory);
    const over = remote.open(id, "m-more", mallory);
    expect(over?.evicted).toMatchObject({ sessionId: "m1" });
    expect(remote.get(id, sessionId(0))).toBeDefined();
    expect(remote.size.sessions).toBe(1 + MAX_REMOTE_SESSIONS_PER_ACCOUNT);
    // Many accounts fill the instance: past its cap the account holding the most loses its
    // oldest, and alice, holding one, keeps hers.
    const others = Array.from(
      { length: MAX_REMOTE_SESSIONS_PER_INSTANCE / MAX_REMOTE_SESSIONS_PER_ACCOUNT },
      (_, i) => ({
        accountId: randomUUID(),
        browserId: `tab-${i}`,
      }),
    );
    for (const [i, other] of others.entries())
      for (
        let n = 0;
        remote.size.sessions < MAX_REMOTE_SESSIONS_PER_INSTANCE && n < MAX_REMOTE_SESSIONS_PER_ACCOUNT;
        n++
      )
        remote.open(id, `o${i}-${n}`, other);
    expect(remote.size.sessions).toBe(MAX_REMOTE_SESSIONS_PER_INSTANCE);
    const bob = { accountId: randomUUID(), browserId: "bob-tab" };
    const full = remote.open(id, "one too many", bob);
    expect(full?.evicted?.browser.data.userId).not.toBe(alice.accountId);
    expect(full?.evicted?.browser.data.userId).not.toBe(bob.accountId);
    expect(remote.get(id, sessionId(0))).toBeDefined();
    expect(remote.get(id, "one too many")).toBeDefined();
    expect(remote.size.sessions).toBe(MAX_REMOTE_SESSIONS_PER_INSTANCE);
    expect(remote.closeInstance(id)).toHaveLength(MAX_REMOTE_SESSIONS_PER_INSTANCE);
    expect(remote.size.sessions).toBe(0);
  });

  it("hold a browser's budgets until it has had no session here for the grace time, so reopening buys no fresh burst", () => {
    vi.useFakeTimers();
    const remote = new RemoteSessions();
    const id = randomUUID();
    remote.open(id, sessionId(1), alice);
    const browser = remote.get(id, sessionId(1))?.browser;
    const released = vi.fn();
    browser?.once("disconnect", released);
    remote.close(remote.get(id, sessionId(1)));
    vi.advanceTimersByTime(REMOTE_BROWSER_GRACE_MS / 2);
    // Reopened within the grace time: the same budgets.
    remote.open(id, sessionId(2), alice);
    expect(remote.get(id, sessionId(2))?.browser).toBe(browser);
    vi.advanceTimersByTime(REMOTE_BROWSER_GRACE_MS * 2);
    expect(released).not.toHaveBeenCalled();
    remote.close(remote.get(id, sessionId(2)));
    vi.advanceTimersByTime(REMOTE_BROWSER_GRACE_MS);
    expect(released).toHaveBeenCalledOnce();
    expect(remote.size).toEqual({ sessions: 0, browsers: 0 });
  });
});

/**
 * A database stand-in for the hub: every query (select, update, with any chain of clauses) gives
 * `row`, at once or, while `hold()` is in force, when `release()` is called.
 */
function fakeDatabase(row: Record<string, unknown>) {
  let held = false;
  const waiting: (() => void)[] = [];
  const query = (): unknown => {
    const chain: Record<string, unknown> = {};
    for (const clause of ["select", "from", "where", "update", "set", "returning"]) chain[clause] = () => chain;
    chain.then = (ok: (rows: unknown[]) => unknown, ko: (error: unknown) => unknown) =>
      new Promise<unknown[]>((resolve) => {
        if (held) waiting.push(() => resolve([row]));
        else resolve([row]);
      }).then(ok, ko);
    return chain;
  };
  return {
    db: { select: query, update: query },
    hold: () => void (held = true),
    release: () => {
      held = false;
      for (const go of waiting.splice(0)) go();
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A companion socket stand-in for `instanceId` whose outbox collects into `atCompanion`. */
function companionSocket(instanceId: string, atCompanion: TRelayFrame[]): CompanionSocket {
  return {
    id: "companion-1",
    connected: true,
    data: {
      instanceId,
      ip: "127.0.0.1",
      companionVersion: "test",
      budget: new FrameBudget(COMPANION_SOCKET_LIMIT),
      outbox: new FrameOutbox((fs) => atCompanion.push(...fs)),
    },
    disconnect: () => undefined,
    emit: () => true,
  } as unknown as CompanionSocket;
}

describe("frames for a companion on another node", () => {
  it("that still wait for the database when the companion connects to this node go to it, before later frames", async () => {
    const userId = randomUUID();
    const instanceId = randomUUID();
    const database = fakeDatabase({ adminUserId: userId, online: true, revokedAt: null, connectionId: "companion-1" });
    let now = 1_000;
    const services = {
      config: { redisUrl: "redis://127.0.0.1:1", revocationSweepMs: 60_000 },
      db: database.db,
      log: () => undefined,
      relayClock: () => now,
    } as unknown as ConsoleServices;
    const hub = new CompanionHub(services);
    const nodes = channel();
    hub.register(nodes as unknown as CompanionNamespace, "main");

    const browser = {
      id: "browser-1",
      connected: true,
      data: { userId, outbox: new FrameOutbox(() => undefined) },
      once: () => undefined,
    };
    const acks: TSocketAck[] = [];
    const frame = (kind: TRelayFrame["kind"], n: number): TRelayFrame => ({
      instanceId,
      sessionId: sessionId(7),
      kind,
      frame: Buffer.from(`frame ${n}`).toString("base64url"),
    });
    const send = (f: TRelayFrame): void => void hub.fromBrowser(browser, f, (ack) => acks.push(ack));

    // The session opens while the companion is on another node: the handshake goes there.
    send(frame("handshake", 0));
    await turn();
    expect(nodes.emitted).toEqual([
      ["node:frame", frame("handshake", 0), { accountId: userId, browserId: "browser-1" }],
    ]);

    // A second later the database is asked again; while it thinks, two frames wait.
    now += 2_000;
    database.hold();
    send(frame("transport", 1));
    send(frame("transport", 2));
    await turn();

    // The companion connects to this node meanwhile, and the browser sends a third frame.
    const atCompanion: TRelayFrame[] = [];
    const companion = companionSocket(instanceId, atCompanion);
    const connectedHere = hub.companionConnected(companion);
    send(frame("transport", 3));
    database.release();
    await connectedHere;
    await turn();
    await turn();

    // All three reach it, in order; none went to another node, where it would have been lost.
    expect(atCompanion.map((f) => f.frame)).toEqual([1, 2, 3].map((n) => frame("transport", n).frame));
    expect(nodes.emitted.filter(([event]) => event === "node:frame")).toHaveLength(1);
    expect(acks).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
  });
});

describe("sessions across nodes belong to the browser that opened them", () => {
  /** A hub on a node with Redis, its node channel recorded and driven by the test. */
  function node(userId: string) {
    const database = fakeDatabase({ adminUserId: userId, online: true, revokedAt: null, connectionId: "companion-1" });
    const services = {
      config: { redisUrl: "redis://127.0.0.1:1", revocationSweepMs: 60_000 },
      db: database.db,
      log: () => undefined,
      relayClock: () => 1_000,
    } as unknown as ConsoleServices;
    const hub = new CompanionHub(services);
    const nodes = channel();
    hub.register(nodes as unknown as CompanionNamespace, "main");
    return { hub, nodes };
  }

  it("on the companion's node: another browser's frame, close or handshake for that session id is dropped or refused", async () => {
    const instanceId = randomUUID();
    const localUser = randomUUID();
    const { hub, nodes } = node(localUser);
    const atCompanion: TRelayFrame[] = [];
    const companion = companionSocket(instanceId, atCompanion);
    await hub.companionConnected(companion);
    const victim = { accountId: randomUUID(), browserId: "victim-socket" };
    const intruder = { accountId: randomUUID(), browserId: "intruder-socket" };
    const frame = (kind: TRelayFrame["kind"], text: string): TRelayFrame => ({
      instanceId,
      sessionId: sessionId(9),
      kind,
      frame: Buffer.from(text).toString("base64url"),
    });

    nodes.deliver("node:frame", frame("handshake", "victim's hello"), victim);
    // The intruder knows the session id: its hello, its frames and its close go nowhere.
    nodes.deliver("node:frame", frame("handshake", "intruder's hello"), intruder);
    nodes.deliver("node:frame", frame("transport", "injected"), intruder);
    nodes.deliver("node:frame", frame("close", ""), intruder);
    // The same account on another socket is another browser too.
    nodes.deliver("node:frame", frame("transport", "injected"), { ...intruder, accountId: victim.accountId });
    // A browser on this node, with a grant, that learnt the id cannot open it here either.
    const local = {
      id: "local-browser",
      connected: true,
      data: { userId: localUser, outbox: new FrameOutbox(() => undefined) },
      once: () => undefined,
    };
    const localAcks: TSocketAck[] = [];
    hub.fromBrowser(local, frame("handshake", "local hello"), (ack) => localAcks.push(ack));
    nodes.deliver("node:frame", frame("transport", "victim's"), victim);
    await turn();
    await turn();
    expect(localAcks).toMatchObject([{ ok: false, error: { code: "conflict" } }]);
    expect(atCompanion.map((f) => Buffer.from(f.frame, "base64url").toString())).toEqual([
      "victim's hello",
      "victim's",
    ]);
    // The intruder's handshake is refused with `conflict`, and each dropped transport frame tells
    // its own sender that the session is not open here.
    const closeTo = (browser: unknown, reason: string): unknown[] => [
      "node:answer",
      closeFrame(instanceId, sessionId(9), reason),
      browser,
    ];
    expect(nodes.emitted.filter(([event]) => event === "node:answer")).toEqual([
      closeTo(intruder, "conflict"),
      closeTo(intruder, "unavailable"),
      closeTo({ ...intruder, accountId: victim.accountId }, "unavailable"),
    ]);
    nodes.emitted.length = 0;

    // The companion's answer goes to the other nodes naming the victim's browser, so only it gets it.
    const acks: TSocketAck[] = [];
    hub.fromCompanion(companion, frame("transport", "answer"), (ack) => acks.push(ack));
    expect(acks).toEqual([{ ok: true }]);
    expect(nodes.emitted.filter(([event]) => event === "node:answer")).toEqual([
      ["node:answer", frame("transport", "answer"), victim],
    ]);
  });

  it("on the companion's node: a session id is one session across instances, so another instance's session cannot shadow it", async () => {
    // Node C holds the companions of instances I and J; the attacker, on node C, may address J.
    const instanceI = randomUUID();
    const instanceJ = randomUUID();
    const attackerId = randomUUID();
    const { hub, nodes } = node(attackerId);
    const atCompanionI: TRelayFrame[] = [];
    const companionI = companionSocket(instanceI, atCompanionI);
    await hub.companionConnected(companionI);
    const attacker = {
      id: "attacker-tab",
      connected: true,
      data: { userId: attackerId, outbox: new FrameOutbox(() => undefined) },
      once: () => undefined,
    };
    const frame = (instanceId: string, id: string, kind: TRelayFrame["kind"], text: string): TRelayFrame => ({
      instanceId,
      sessionId: id,
      kind,
      frame: Buffer.from(text).toString("base64url"),
    });
    const open = async (instanceId: string, id: string): Promise<TSocketAck[]> => {
      const acks: TSocketAck[] = [];
      hub.fromBrowser(attacker, frame(instanceId, id, "handshake", "attacker's hello"), (ack) => acks.push(ack));
      await turn();
      await turn();
      return acks;
    };

    // The victim, on node A, opens S with I; the attacker then names S with J: refused.
    const victim = { accountId: randomUUID(), browserId: "victim-on-node-a" };
    const s = sessionId(13);
    nodes.deliver("node:frame", frame(instanceI, s, "handshake", "victim's hello"), victim);
    expect(await open(instanceJ, s)).toMatchObject([{ ok: false, error: { code: "conflict" } }]);
    // Companion I's answers on S still reach the victim, naming the victim's browser.
    nodes.emitted.length = 0;
    const acks: TSocketAck[] = [];
    hub.fromCompanion(companionI, frame(instanceI, s, "transport", "answer"), (ack) => acks.push(ack));
    expect(acks).toEqual([{ ok: true }]);
    expect(nodes.emitted).toEqual([["node:answer", frame(instanceI, s, "transport", "answer"), victim]]);

    // The other order: the attacker holds T with J first; the victim's handshake on T with I is
    // refused with `conflict` (its node acknowledged it), and never reaches companion I.
    const t = sessionId(14);
    expect(await open(instanceJ, t)).toEqual([{ ok: true }]);
    nodes.emitted.length = 0;
    nodes.deliver("node:frame", frame(instanceI, t, "handshake", "victim's second hello"), victim);
    expect(nodes.emitted).toEqual([["node:answer", closeFrame(instanceI, t, "conflict"), victim]]);
    expect(atCompanionI.map((f) => f.sessionId)).toEqual([s]);
  });

  it("on the browser's node: an answer naming another browser is not delivered to the one holding that id here", async () => {
    const instanceId = randomUUID();
    const userId = randomUUID();
    const { hub, nodes } = node(userId);
    const delivered: TRelayFrame[] = [];
    const browser = {
      id: "browser-here",
      connected: true,
      data: { userId, outbox: new FrameOutbox((fs) => delivered.push(...fs)) },
      once: () => undefined,
    };
    const frame = (kind: TRelayFrame["kind"], text: string): TRelayFrame => ({
      instanceId,
      sessionId: sessionId(11),
      kind,
      frame: Buffer.from(text).toString("base64url"),
    });
    // Its session goes to the companion on another node.
    hub.fromBrowser(browser, frame("handshake", "hello"), () => undefined);
    await turn();
    expect(nodes.emitted).toHaveLength(1);

    nodes.deliver("node:answer", frame("transport", "for someone else"), {
      accountId: randomUUID(),
      browserId: "browser-elsewhere",
    });
    nodes.deliver("node:answer", frame("transport", "for someone else"), { accountId: userId, browserId: "another" });
    nodes.deliver("node:answer", frame("transport", "for it"), { accountId: userId, browserId: "browser-here" });
    await turn();
    expect(delivered.map((f) => Buffer.from(f.frame, "base64url").toString())).toEqual(["for it"]);
  });
});
