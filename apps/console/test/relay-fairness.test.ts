// One account cannot spend the relay budget of others: what a companion sends is charged first
// to the receiving browser socket and its account (per instance), so a flood of large answers
// that one account asked for is refused against that account alone, and other accounts' frames
// still pass; and a companion flooding an account cannot spend what it needs for other sites.
import { randomBytes } from "node:crypto";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toBase64Url } from "@veil/crypto";
import type { TRelayFrame, TSocketAck } from "@veil/protocol";
import { HANDSHAKE_ACCOUNT_LIMIT, MAX_SESSIONS_PER_BROWSER_SOCKET } from "../src/server/instances/frame-budget";
import { startTestConsole, type TestConsole } from "./helpers/console";
import {
  browserSocket,
  connected,
  eventually,
  inviteKeyed,
  makeInstance,
  sendFrame,
  signGrantBundle,
  signUpKeyed,
  standInCompanion,
  type KeyedAccount,
} from "./helpers/instances";

/** A handshake frame opening a new session with `instanceId` (the relay never reads `frame`). */
const handshakeFor = (instanceId: string): TRelayFrame => ({
  instanceId,
  sessionId: toBase64Url(randomBytes(16)),
  kind: "handshake",
  frame: "AAAA",
});

describe("relay budgets are per receiving account", () => {
  let c: TestConsole;
  let admin: KeyedAccount;
  let viewer: KeyedAccount;
  const sockets: Socket[] = [];
  const logs: string[] = [];
  // The relay's budgets read this frozen clock: a flood is metered the same however slowly this
  // machine sends it (no refill while it runs); each test starts a minute later, buckets full.
  let relayNow = 1_000_000;
  beforeEach(() => {
    relayNow += 60_000;
  });

  beforeAll(async () => {
    c = await startTestConsole({ driver: "pglite", relayClock: () => relayNow, log: (line) => logs.push(line) });
    admin = await signUpKeyed(c.api, "admin@example.test");
    viewer = await inviteKeyed(c.api, admin, "viewer@example.test", "viewer");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.stop();
  });

  /** An instance of the admin's, granted to `viewer`, with a stand-in companion on its credentials that only relays. */
  const site = async (name: string) => {
    const inst = await makeInstance(admin, name);
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    const expiresAt = Date.now() + 3600_000;
    const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer", expiresAt);
    expect(
      (
        await c.api(`/api/instances/${inst.instanceId}/grants`, {
          body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
          token: admin.token,
        })
      ).status,
    ).toBe(201);
    const companion = standInCompanion(`https://localhost:${c.running.httpsPort}`, c.running.certificate.certPem, inst);
    sockets.push(companion);
    await connected(companion);
    companion.on("e2e:frame", () => undefined);

    /** A session of `account` with this instance, opened on `s` (a new socket when not given). */
    const open = async (account: KeyedAccount, s?: Socket): Promise<string> => {
      const socket = s ?? browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
      if (s === undefined) {
        sockets.push(socket);
        await connected(socket);
      }
      const sessionId = toBase64Url(randomBytes(16));
      let ack: TSocketAck = { ok: false, error: { code: "unavailable", message: "", retryable: true } };
      // The companion's presence reaches the relay a moment after it connects.
      for (let i = 0; i < 50 && !ack.ok; i++) {
        ack = await sendFrame(socket, { instanceId: inst.instanceId, sessionId, kind: "handshake", frame: "AAAA" });
        if (!ack.ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ack).toEqual({ ok: true });
      return sessionId;
    };
    const big = toBase64Url(randomBytes(48_000)); // 64,000 characters, near the largest frame
    /** One large answer from the companion to `sessionId`. */
    const answer = (sessionId: string): Promise<TSocketAck> =>
      companion.timeout(5000).emitWithAck("e2e:frame", {
        instanceId: inst.instanceId,
        sessionId,
        kind: "transport",
        frame: big,
      } satisfies TRelayFrame) as Promise<TSocketAck>;
    /** `n` large answers to `sessionId` at once. */
    const flood = (sessionId: string, n: number): Promise<TSocketAck[]> =>
      Promise.all(Array.from({ length: n }, () => answer(sessionId)));
    /** The companion closes `sessionId`. */
    const closeSession = (sessionId: string): Promise<TSocketAck> =>
      companion.timeout(5000).emitWithAck("e2e:frame", {
        instanceId: inst.instanceId,
        sessionId,
        kind: "close",
        frame: toBase64Url(new TextEncoder().encode("internal")),
      } satisfies TRelayFrame) as Promise<TSocketAck>;
    return { inst, open, flood, closeSession };
  };

  it("a browser reading slower than its companion sends loses that session, not its socket", async () => {
    const slow = await site("slow link");
    const tab = browserSocket(c.running.httpsPort, c.running.certificate.certPem, viewer.token);
    sockets.push(tab);
    await connected(tab);
    const sessionId = await slow.open(viewer, tab);
    // The browser stops reading (a link far slower than the companion's answers): once the
    // kernel's buffers are full, what the console relays to it waits in the console.
    const tls = (tab.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws
      ._socket;
    tls.pause();
    let refused = 0;
    for (let round = 0; round < 40 && refused === 0; round++) {
      relayNow += 1_000; // the budgets refill (4 MiB a round): only the backlog refuses (at 8 MiB)
      refused += (await slow.flood(sessionId, 60)).filter((a) => !a.ok).length;
    }
    // The companion ends that session: its close, a few bytes, still goes to the browser.
    expect(await slow.closeSession(sessionId)).toEqual({ ok: true });
    tls.resume();
    expect(refused).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.filter((l) => l.startsWith("browser socket cut"))).toEqual([]);
    expect(tab.connected).toBe(true);
  });

  it("a flood of answers to one account's session is refused for it alone", async () => {
    const fair = await site("fair site");
    const viewerSession = await fair.open(viewer);
    const adminSession = await fair.open(admin);

    // 200 large answers at once to the viewer's session: past its socket's burst (4 MiB) the
    // rest are refused — charged to the viewer, not to the companion's shared budget.
    const flood = await fair.flood(viewerSession, 200);
    const refused = flood.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThan(50);
    expect(refused[0]).toMatchObject({ ok: false, error: { code: "rate_limited" } });

    // The admin's session is unaffected.
    expect((await fair.flood(adminSession, 20)).every((a) => a.ok)).toBe(true);
  });

  it("a companion flooding an account spends that account's budget for its own instance only, not for the account's other sites", async () => {
    const hostile = await site("stolen host");
    const honest = await site("honest site");
    // One browser socket holds a session with each instance.
    const tab = browserSocket(c.running.httpsPort, c.running.certificate.certPem, viewer.token);
    sockets.push(tab);
    await connected(tab);
    const toHostile = await hostile.open(viewer, tab);
    const toHonest = await honest.open(viewer, tab);
    const delivered: string[] = [];
    tab.on("e2e:frame", (f: TRelayFrame) => delivered.push(f.sessionId));
    tab.on("e2e:frames", (fs: TRelayFrame[]) => delivered.push(...fs.map((f) => f.sessionId)));

    // The stolen host floods the tab until the relay refuses it (the clock stands still: no refill).
    const flood = await hostile.flood(toHostile, 200);
    expect(flood.filter((a) => !a.ok).length).toBeGreaterThan(50);
    expect((await hostile.flood(toHostile, 5)).every((a) => !a.ok)).toBe(true);

    // The honest site's answers to the same tab still pass, and arrive.
    const answers = await honest.flood(toHonest, 20);
    expect(answers.every((a) => a.ok)).toBe(true);
    await eventually(() => delivered.filter((id) => id === toHonest).length === 20, 10_000, "honest answers");
  });

  /**
   * `count` handshakes for `instanceId` from `s`, in waves of MAX_SESSIONS_PER_BROWSER_SOCKET at
   * once (a handshake waiting for its authorization query counts against that cap, so more at
   * once would meet the cap, not the budgets): the acknowledgement codes counted into `out`.
   */
  const handshakeWaves = async (
    s: Socket,
    instanceId: string,
    count: number,
    out: Record<string, number> = {},
  ): Promise<Record<string, number>> => {
    for (let sent = 0; sent < count; sent += MAX_SESSIONS_PER_BROWSER_SOCKET) {
      const wave = Math.min(MAX_SESSIONS_PER_BROWSER_SOCKET, count - sent);
      const acks = await Promise.all(Array.from({ length: wave }, () => sendFrame(s, handshakeFor(instanceId))));
      for (const a of acks) {
        const code = a.ok ? "ok" : a.error.code;
        out[code] = (out[code] ?? 0) + 1;
      }
    }
    return out;
  };

  /**
   * `count` handshakes for `instanceId` from a new socket of `account` (with no grant, so each one
   * that passes the budget is refused `forbidden` by the authorization query): the
   * acknowledgement codes counted.
   */
  const floodHandshakes = async (
    account: KeyedAccount,
    instanceId: string,
    count: number,
  ): Promise<Record<string, number>> => {
    const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
    sockets.push(s);
    await connected(s);
    return handshakeWaves(s, instanceId, count);
  };

  it("meters session opens per account: a flood of forbidden handshakes is cut off before it costs queries", async () => {
    const stranger = await inviteKeyed(c.api, admin, "stranger@example.test", "operator");
    const inst = await makeInstance(admin, "closed site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // Four sockets of one account, each within its own burst of 40: the account's budget (bursts
    // of 80) binds, not the sockets'. The relay's clock stands still here, so nothing refills.
    const floods = [];
    for (let k = 0; k < 4; k++) floods.push(await floodHandshakes(stranger, inst.instanceId, 40));
    expect(floods).toEqual([{ forbidden: 40 }, { forbidden: 40 }, { rate_limited: 40 }, { rate_limited: 40 }]);
  });

  it("meters session opens per socket too: one socket gets its own burst (40), the account's other sockets the rest", async () => {
    const loner = await inviteKeyed(c.api, admin, "loner@example.test", "operator");
    const inst = await makeInstance(admin, "another closed site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // Each socket's burst of 40 reaches the authorization query; the rest of its 60 are refused
    // first. The account's burst of 80 is spent after two sockets.
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ forbidden: 40, rate_limited: 20 });
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ forbidden: 40, rate_limited: 20 });
    expect(await floodHandshakes(loner, inst.instanceId, 60)).toEqual({ rate_limited: 60 });
  });

  it("meters session opens across reconnects: disconnecting and connecting again buys no fresh burst", async () => {
    const reconnecter = await inviteKeyed(c.api, admin, "reconnecter@example.test", "operator");
    const inst = await makeInstance(admin, "a third closed site");
    expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // The reviewer's loop: one client socket sends 80 handshakes (forbidden: each that passes the
    // budgets costs an authorization query), disconnects and connects again, every 10 ms of the
    // relay's clock (which stands still while each round runs). Before the fix each new connection came with a fresh account budget: 40 per
    // round (the socket's burst), 400 in 100 ms.
    const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, reconnecter.token);
    sockets.push(s);
    const start = relayNow;
    const out: Record<string, number> = {};
    for (let round = 0; round < 10; round++) {
      if (round > 0) s.connect();
      await connected(s);
      await handshakeWaves(s, inst.instanceId, 80, out);
      s.disconnect();
      relayNow += 10;
    }
    const elapsedSec = (relayNow - start) / 1000;
    const { frameBurst, framesPerSec } = HANDSHAKE_ACCOUNT_LIMIT;
    expect(Object.keys(out).sort()).toEqual(["forbidden", "rate_limited"]);
    expect(out.forbidden).toBeGreaterThanOrEqual(frameBurst);
    expect(out.forbidden).toBeLessThanOrEqual(frameBurst + framesPerSec * elapsedSec);
  });

  it("caps the sessions one socket opens with one batch of handshakes, as with one handshake at a time", async () => {
    const capped = await site("capped site");
    await capped.open(viewer); // the companion's presence has reached the relay
    const tab = browserSocket(c.running.httpsPort, c.running.certificate.certPem, viewer.token);
    sockets.push(tab);
    await connected(tab);
    // 40 handshakes in one e2e:frames event: all of them wait for their authorization query at
    // once. Before the fix none counted until it was added, so all 40 were opened.
    const handshakes = Array.from({ length: 40 }, () => handshakeFor(capped.inst.instanceId));
    const acks = (await tab.timeout(5000).emitWithAck("e2e:frames", handshakes)) as TSocketAck[];
    expect(acks).toHaveLength(40);
    const opened = handshakes.filter((_, i) => acks[i]?.ok);
    expect(opened).toHaveLength(MAX_SESSIONS_PER_BROWSER_SOCKET);
    expect(acks.filter((a) => !a.ok)).toEqual(
      Array.from({ length: 40 - MAX_SESSIONS_PER_BROWSER_SOCKET }, () => ({
        ok: false,
        error: { code: "rate_limited", message: expect.any(String) as string, retryable: true },
      })),
    );
    // At the cap; a closed session frees its slot, and only that one (no refused handshake
    // still counts as opening).
    const another = () => handshakeFor(capped.inst.instanceId);
    expect(await sendFrame(tab, another())).toMatchObject({ ok: false, error: { code: "rate_limited" } });
    const [first] = opened;
    expect(first).toBeDefined();
    if (first === undefined) return;
    expect(await sendFrame(tab, { ...first, kind: "close", frame: "" })).toEqual({ ok: true });
    expect(await sendFrame(tab, another())).toEqual({ ok: true });
    expect(await sendFrame(tab, another())).toMatchObject({ ok: false, error: { code: "rate_limited" } });
  });
});
