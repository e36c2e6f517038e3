import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createAdapter } from "@socket.io/redis-adapter";
import { eq } from "drizzle-orm";
import { createClient } from "redis";
import { Server } from "socket.io";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toBase64Url } from "@veil/crypto";
import { instances } from "@veil/db";
import type { TRelayFrame, TSessionEnded, TSocketAck } from "@veil/protocol";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { REDIS_ADAPTER_KEY } from "../src/server/socket/redis-adapter";
import { stepUp } from "./helpers/accounts";
import { DATABASE_URL, startTestConsole, type TestConsole } from "./helpers/console";
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
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

const hasRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
const reason = !DATABASE_URL ? "DATABASE_URL is not set" : !hasRedis ? "redis-server is not installed" : null;
if (reason) console.warn(`[console companion multi-node] ${reason}: the two-node relay test is skipped`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const OK: TSocketAck = { ok: true };
const next = <T>(s: Socket, event: string): Promise<T> => new Promise((resolve) => s.once(event, (v: T) => resolve(v)));

/**
 * Sends a session's handshake until the relay takes it: the companion's presence (online in the
 * database, which another node asks) lands a moment after its socket connects.
 */
async function sendHandshake(browser: Socket, hello: TRelayFrame): Promise<TSocketAck> {
  let ack = await sendFrame(browser, hello);
  for (let i = 0; i < 50 && !ack.ok && ack.error.code === "unavailable"; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ack = await sendFrame(browser, hello);
  }
  return ack;
}

/**
 * Every relayed frame a socket receives, single (`e2e:frame`) or batched (`e2e:frames`, to a
 * socket that announced protocol version 2), in order; `nth(n)` resolves with the n-th (from 1).
 */
function inbox(s: Socket): { frames: TRelayFrame[]; nth(n: number): Promise<TRelayFrame> } {
  const frames: TRelayFrame[] = [];
  const waiting: { n: number; resolve: (f: TRelayFrame) => void }[] = [];
  const add = (f: TRelayFrame): void => {
    frames.push(f);
    for (const w of waiting.filter((w) => w.n === frames.length)) w.resolve(f);
  };
  s.on("e2e:frame", add);
  s.on("e2e:frames", (fs: TRelayFrame[]) => fs.forEach(add));
  return {
    frames,
    nth: (n) =>
      new Promise((resolve) => {
        const have = frames[n - 1];
        if (have !== undefined) resolve(have);
        else waiting.push({ n, resolve });
      }),
  };
}

/** Browser on node A, companion on node B: frames cross through the Redis adapter both ways; revocation on A ends the companion on B. */
describe.skipIf(reason !== null)("relay across two console nodes (PostgreSQL + Redis adapter)", () => {
  let redis: ChildProcess;
  let redisUrl: string;
  let a: TestConsole;
  let b: TestConsole;
  let admin: KeyedAccount;
  const sockets: Socket[] = [];
  // Node B's relay budgets read this frozen clock: a flood is metered the same however slowly
  // this machine sends it; each test starts a minute later, buckets full.
  let relayNowB = 1_000_000;
  beforeEach(() => {
    relayNowB += 60_000;
  });

  beforeAll(async () => {
    const port = await freePort();
    redisUrl = `redis://127.0.0.1:${port}`;
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 300));
    const shared = {
      redisUrl,
      serverSecret: randomBytes(32).toString("base64"),
      rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
    };
    a = await startTestConsole({ driver: "postgres", ...shared });
    // Node B also has an inform port (its own socket.io server, with no adapter of its own); A has
    // none. B's revocation sweep (the backstop for a lost event) is too slow to matter here: a
    // revocation through A reaches B's companions by the node:revoke event or not in time.
    b = await startTestConsole({
      ...shared,
      databaseUrl: a.running.config.databaseUrl,
      informPort: 0,
      revocationSweepMs: 60_000,
      relayClock: () => relayNowB,
    });
    admin = await signUpKeyed(a.api, "admin@example.test");
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await b?.stop();
    await a?.stop();
    if (redis?.pid) process.kill(redis.pid);
  });

  /** Revokes `inst` through node A: its companion socket is told why and disconnected within 5 s. */
  const revokeThroughA = async (inst: BrowserMadeInstance, companion: Socket): Promise<void> => {
    const ended = next<TSessionEnded>(companion, "session:ended");
    const gone = next<string>(companion, "disconnect");
    await stepUp(a.api, admin);
    const started = Date.now();
    expect((await a.api(`/api/instances/${inst.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
      200,
    );
    expect(await ended).toEqual({ reason: "instance_revoked" });
    await gone;
    expect(Date.now() - started).toBeLessThan(5000);
  };

  /** A stand-in companion for `inst` at `origin` (a node's main or inform port), with its inbox. */
  const companionAt = (origin: string, ca: string, inst: BrowserMadeInstance) => {
    const socket = standInCompanion(origin, ca, inst);
    sockets.push(socket);
    return { socket, inbox: inbox(socket) };
  };

  it(
    "relays opaque frames between a browser on one node and a companion on another, closes a dropped browser's session there, and revokes across nodes",
    { timeout: 20_000 },
    async () => {
      const inst = await makeInstance(admin, "remote site");
      expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);

      const { socket: companion, inbox: atCompanion } = companionAt(
        `https://localhost:${b.running.httpsPort}`,
        b.running.certificate.certPem,
        inst,
      );
      await connected(companion);
      const browser = browserSocket(a.running.httpsPort, a.running.certificate.certPem, admin.token);
      sockets.push(browser);
      const atBrowser = inbox(browser);
      await connected(browser);

      const sessionId = toBase64Url(randomBytes(16));
      const hello: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "handshake",
        frame: toBase64Url(randomBytes(96)),
      };
      expect(await sendHandshake(browser, hello)).toEqual({ ok: true });
      expect(await atCompanion.nth(1)).toEqual(hello);

      const reply: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "handshake",
        frame: toBase64Url(randomBytes(48)),
      };
      expect(await sendFrame(companion, reply)).toEqual({ ok: true });
      expect(await atBrowser.nth(1)).toEqual(reply);

      const transport: TRelayFrame = {
        instanceId: inst.instanceId,
        sessionId,
        kind: "transport",
        frame: toBase64Url(randomBytes(64)),
      };
      expect(await sendFrame(browser, transport)).toEqual({ ok: true });
      expect(await atCompanion.nth(2)).toEqual(transport);

      // Many frames at once reach the companion on the other node in the order they were sent
      // (a reordered frame would end the Noise session).
      const burst = Array.from({ length: 40 }, (_, i) => ({ ...transport, frame: toBase64Url(Buffer.from(`f${i}`)) }));
      expect(await Promise.all(burst.map((f) => sendFrame(browser, f)))).toEqual(burst.map(() => ({ ok: true })));
      await atCompanion.nth(2 + burst.length);
      expect(atCompanion.frames.slice(2).map((f) => f.frame)).toEqual(burst.map((f) => f.frame));

      // The browser goes away without a word: node A closes its session at the companion on node B.
      browser.disconnect();
      expect(await atCompanion.nth(3 + burst.length)).toEqual({
        instanceId: inst.instanceId,
        sessionId,
        kind: "close",
        frame: "",
      });

      await revokeThroughA(inst, companion);
    },
  );
  it(
    "reaches a companion on another node's inform port from a node without one, both ways; a newer connection elsewhere replaces it; revocation ends it",
    { timeout: 20_000 },
    async () => {
      const inst = await makeInstance(admin, "inform-port site");
      expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
      const ca = b.running.certificate.certPem;
      const first = companionAt(`https://localhost:${b.running.informPort ?? 0}`, ca, inst);
      await connected(first.socket);
      const browser = browserSocket(a.running.httpsPort, a.running.certificate.certPem, admin.token);
      sockets.push(browser);
      const atBrowser = inbox(browser);
      await connected(browser);

      const sessionId = toBase64Url(randomBytes(16));
      const frame = (kind: TRelayFrame["kind"], n: number): TRelayFrame => ({
        instanceId: inst.instanceId,
        sessionId,
        kind,
        frame: toBase64Url(randomBytes(n)),
      });
      const hello = frame("handshake", 96);
      expect(await sendHandshake(browser, hello)).toEqual({ ok: true });
      expect(await first.inbox.nth(1)).toEqual(hello);
      const reply = frame("handshake", 48);
      expect(await sendFrame(first.socket, reply)).toEqual({ ok: true });
      expect(await atBrowser.nth(1)).toEqual(reply);
      const burst = Array.from({ length: 20 }, () => frame("transport", 64));
      expect(await Promise.all(burst.map((f) => sendFrame(browser, f)))).toEqual(burst.map(() => ({ ok: true })));
      await first.inbox.nth(1 + burst.length);
      expect(first.inbox.frames.slice(1)).toEqual(burst);

      // The same companion connects again on node A's main port: the older socket on B's inform
      // port is dropped, and frames go to the new one.
      const gone = next<string>(first.socket, "disconnect");
      const second = companionAt(`https://localhost:${a.running.httpsPort}`, a.running.certificate.certPem, inst);
      await connected(second.socket);
      await gone;

      // Revoked through node A: the companion (now on A) is told and disconnected.
      await revokeThroughA(inst, second.socket);
    },
  );

  it(
    "revoking through one node ends a companion on another node's inform port within 5 s, and closes that node's browser sessions with it",
    { timeout: 20_000 },
    async () => {
      const inst = await makeInstance(admin, "revoked inform-port site");
      expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
      const companion = companionAt(
        `https://localhost:${b.running.informPort ?? 0}`,
        b.running.certificate.certPem,
        inst,
      );
      await connected(companion.socket);
      // A browser on node B holds a session with it.
      const browser = browserSocket(b.running.httpsPort, b.running.certificate.certPem, admin.token);
      sockets.push(browser);
      const atBrowser = inbox(browser);
      await connected(browser);
      const sessionId = toBase64Url(randomBytes(16));
      const hello: TRelayFrame = { instanceId: inst.instanceId, sessionId, kind: "handshake", frame: "AAAA" };
      expect(await sendHandshake(browser, hello)).toEqual({ ok: true });
      await companion.inbox.nth(1);

      await revokeThroughA(inst, companion.socket);
      const closed = await atBrowser.nth(1);
      expect(closed).toMatchObject({ sessionId, kind: "close" });
      expect(Buffer.from(closed.frame, "base64url").toString()).toBe("instance_revoked");
    },
  );

  it(
    "charges a companion's answers to browsers on another node to their account first, refuses answers to sessions known nowhere, and frees the session's slot there when the companion closes it",
    { timeout: 30_000 },
    async () => {
      const viewer = await inviteKeyed(a.api, admin, `viewer-${Date.now()}@example.test`, "viewer");
      const inst = await makeInstance(admin, "metered remote site");
      expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
      const expiresAt = Date.now() + 3600_000;
      const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer", expiresAt);
      expect(
        (
          await a.api(`/api/instances/${inst.instanceId}/grants`, {
            body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
            token: admin.token,
          })
        ).status,
      ).toBe(201);
      // The companion on node B, the browsers on node A.
      const companion = companionAt(`https://localhost:${b.running.httpsPort}`, b.running.certificate.certPem, inst);
      await connected(companion.socket);
      const frame = (sessionId: string, kind: TRelayFrame["kind"], text: string): TRelayFrame => ({
        instanceId: inst.instanceId,
        sessionId,
        kind,
        frame: toBase64Url(Buffer.from(text)),
      });
      const open = async (account: KeyedAccount) => {
        const tab = browserSocket(a.running.httpsPort, a.running.certificate.certPem, account.token);
        sockets.push(tab);
        const tabInbox = inbox(tab);
        await connected(tab);
        const sessionId = toBase64Url(randomBytes(16));
        expect(await sendHandshake(tab, frame(sessionId, "handshake", "hello"))).toEqual({ ok: true });
        await eventually(() => companion.inbox.frames.some((f) => f.sessionId === sessionId), 5000, "handshake");
        return { tab, inbox: tabInbox, sessionId };
      };
      const viewerTab = await open(viewer);
      const adminTab = await open(admin);

      // A session no browser opened on any node: refused, as with one node.
      expect(await sendFrame(companion.socket, frame(toBase64Url(randomBytes(16)), "transport", "x"))).toMatchObject({
        ok: false,
        error: { code: "not_found" },
      });

      // 200 large answers at once to the viewer's session on node A: past its socket's burst
      // (4 MiB) the rest are refused, charged to the viewer before the companion's budget.
      const big = toBase64Url(randomBytes(48_000));
      const flood = await Promise.all(
        Array.from({ length: 200 }, () =>
          sendFrame(companion.socket, { ...frame(viewerTab.sessionId, "transport", ""), frame: big }),
        ),
      );
      const refused = flood.filter((f) => !f.ok);
      expect(refused.length).toBeGreaterThan(50);
      expect(refused[0]).toMatchObject({ ok: false, error: { code: "rate_limited" } });

      // The admin's answers still pass, and reach the admin's tab on node A in order.
      const answers = Array.from({ length: 20 }, (_, i) => frame(adminTab.sessionId, "transport", `answer ${i}`));
      expect(await Promise.all(answers.map((f) => sendFrame(companion.socket, f)))).toEqual(answers.map(() => OK));
      await adminTab.inbox.nth(answers.length);
      expect(adminTab.inbox.frames).toEqual(answers);

      // The companion closes the admin's session: node A frees it (a later frame on it is not relayed).
      const close = frame(adminTab.sessionId, "close", "done");
      expect(await sendFrame(companion.socket, close)).toEqual(OK);
      expect(await adminTab.inbox.nth(answers.length + 1)).toEqual(close);
      expect(await sendFrame(adminTab.tab, frame(adminTab.sessionId, "transport", "late"))).toMatchObject({
        ok: false,
        error: { code: "not_found" },
      });

      // The viewer's tab goes: its session is closed at the companion, and answers to it are refused.
      viewerTab.tab.disconnect();
      await eventually(
        () => companion.inbox.frames.some((f) => f.sessionId === viewerTab.sessionId && f.kind === "close"),
        5000,
        "close at the companion",
      );
      expect(await sendFrame(companion.socket, frame(viewerTab.sessionId, "transport", "late"))).toMatchObject({
        ok: false,
        error: { code: "not_found" },
      });
      companion.socket.disconnect();
    },
  );

  it("a row left online by a node that died, no longer refreshed, is not taken as a companion online elsewhere", async () => {
    const inst = await makeInstance(admin, "ghost site");
    expect((await a.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
    // As a node killed mid-connection leaves it: online, naming its socket, last seen long ago.
    await a.running.services.db
      .update(instances)
      .set({ online: true, connectionId: "a-dead-node's-socket", lastSeenAt: new Date(Date.now() - 120_000) })
      .where(eq(instances.id, inst.instanceId));
    const browser = browserSocket(a.running.httpsPort, a.running.certificate.certPem, admin.token);
    sockets.push(browser);
    await connected(browser);
    const hello: TRelayFrame = {
      instanceId: inst.instanceId,
      sessionId: toBase64Url(randomBytes(16)),
      kind: "handshake",
      frame: toBase64Url(randomBytes(96)),
    };
    // Sent to no one, it used to be acknowledged, and the browser waited for an answer.
    expect(await sendFrame(browser, hello)).toMatchObject({ ok: false, error: { code: "unavailable" } });
    browser.disconnect();
  });

  it(
    "a late node:companion about an older connection leaves the newer socket here connected; one the database names replaces it",
    { timeout: 20_000 },
    async () => {
      const inst = await makeInstance(admin, "flapping site");
      const marker = await makeInstance(admin, "marker site");
      for (const made of [inst, marker])
        expect((await a.api("/api/instances", { body: made.body, token: admin.token })).status).toBe(201);
      const companion = companionAt(`https://localhost:${a.running.httpsPort}`, a.running.certificate.certPem, inst);
      const markerCompanion = companionAt(
        `https://localhost:${a.running.httpsPort}`,
        a.running.certificate.certPem,
        marker,
      );
      await Promise.all([connected(companion.socket), connected(markerCompanion.socket)]);
      let disconnected = false;
      companion.socket.on("disconnect", () => (disconnected = true));

      // A third node on the same Redis, whose event about an older connection of this instance
      // (made before the one on node A) arrives late, as a node's queued Redis command would.
      const pub = createClient({ url: redisUrl });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      const late = new Server();
      late.adapter(createAdapter(pub, sub, { key: REDIS_ADAPTER_KEY }));
      /** The database names `socketId` for the instance, node C says so, and `socket` is replaced. */
      const replacedBy = async (instanceId: string, socket: Socket, socketId: string): Promise<void> => {
        await a.running.services.db
          .update(instances)
          .set({ connectionId: socketId })
          .where(eq(instances.id, instanceId));
        const gone = next<string>(socket, "disconnect");
        late.of("/companion").serverSideEmit("node:companion", instanceId, socketId);
        await gone;
      };
      try {
        late.of("/companion").serverSideEmit("node:companion", inst.instanceId, "an-older-socket");
        // A marker sent after it, about another instance whose row names another connection: once
        // node A has acted on the marker (the same steps, in the order Redis delivered them), it has
        // handled the late event too.
        await replacedBy(marker.instanceId, markerCompanion.socket, "the-marker's-newer-socket");
        expect(disconnected).toBe(false);

        // A connection the database names (it registered after this one) does replace it.
        await replacedBy(inst.instanceId, companion.socket, "a-newer-socket");
      } finally {
        // Never attached to an HTTP server (it has no engine to close): its adapters and clients go.
        await Promise.all([late.of("/").adapter.close(), late.of("/companion").adapter.close()]);
        await Promise.all([pub.quit(), sub.quit()]).catch(() => undefined);
      }
    },
  );
});
