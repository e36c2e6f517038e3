import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { io as connect, Manager, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { instances } from "@veil/db";
import { deriveInstanceTokenKeys, fromBase64Url, hashAuthKey, kdfParams, toBase64Url } from "@veil/crypto";
import {
  COMPANION_API_PREFIX,
  decodeEnrollment,
  encodeEnrollment,
  PROTOCOL_VERSION,
  ZSystemInfoResultSchema,
  ZTokenRotateResultSchema,
  type TCompanionInfoResponse,
  type TInstanceListResponse,
  type TInstanceResponse,
  type TSessionEnded,
} from "@veil/protocol";
import { fingerprint } from "@veil/crypto";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { stepUp } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";
import { dumpDatabase, forms } from "./helpers/database-dump";
import {
  browserSocket,
  companionStateDir,
  connected,
  eventually,
  inviteKeyed,
  makeInstance,
  RelaySession,
  sendFrame,
  signGrantBundle,
  signUpKeyed,
  spawnCompanion,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

type Outcome = { connected: true; socket: Socket } | { connected: false; error: string };

for (const driver of drivers) {
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console companion relay] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`a real companion through the real console relay (${driver})`, () => {
    let c: TestConsole;
    let admin: KeyedAccount;
    let viewer: KeyedAccount;
    let stranger: KeyedAccount;
    let inst: BrowserMadeInstance;
    let info: TCompanionInfoResponse;
    let stateDir: string;
    let companion: ReturnType<typeof spawnCompanion> | undefined;
    const sockets: Socket[] = [];
    const secrets: { label: string; value: Uint8Array | string }[] = [];

    const instanceRow = async (id: string) =>
      (await c.running.database.db.select().from(instances).where(eq(instances.id, id)))[0];
    const browser = async (account: KeyedAccount) => {
      const s = browserSocket(c.running.httpsPort, c.running.certificate.certPem, account.token);
      sockets.push(s);
      await connected(s);
      return s;
    };
    const companionSocket = (
      instanceId: string,
      authKey: string,
      transport: "websocket" | "polling" = "websocket",
    ): Promise<Outcome> => {
      const s = connect(`https://localhost:${c.running.httpsPort}/companion`, {
        transports: [transport],
        ca: c.running.certificate.certPem,
        auth: { instanceId, authKey, protocolVersion: PROTOCOL_VERSION, companionVersion: "test" },
        reconnection: false,
        forceNew: true,
      });
      sockets.push(s);
      return new Promise((resolve) => {
        s.once("connect", () => resolve({ connected: true, socket: s }));
        s.once("connect_error", (e: Error) => resolve({ connected: false, error: e.message }));
      });
    };

    beforeAll(async () => {
      c = await startTestConsole({
        driver,
        rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
      });
      admin = await signUpKeyed(c.api, "admin@example.test");
      viewer = await inviteKeyed(c.api, admin, "viewer@example.test", "viewer");
      stranger = await inviteKeyed(c.api, admin, "stranger@example.test", "operator");
      inst = await makeInstance(admin, "site one");
      secrets.push(
        { label: "token", value: inst.token },
        { label: "auth key", value: inst.keys.authKey },
        { label: "wrap key", value: inst.keys.wrapKey },
        { label: "identity private key", value: inst.identity.privateKey },
        { label: "box private key", value: inst.box.privateKey },
      );
      expect((await c.api("/api/instances", { body: inst.body, token: admin.token })).status).toBe(201);
      info = (await c.api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
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
      stateDir = companionStateDir();
    });
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      companion?.kill("SIGTERM");
      await companion?.exit;
      await c?.stop();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    it("enrolls with the real companion CLI and comes online", async () => {
      const enrollment = encodeEnrollment({
        consoleUrl: info.consoleUrl,
        instanceId: inst.instanceId,
        token: inst.token,
        signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
        consolePin: info.consolePin,
      });
      const enroll = spawnCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment });
      expect(await enroll.exit, enroll.output()).toBe(0);
      expect(enroll.output()).not.toContain(inst.token);

      companion = spawnCompanion("run", stateDir);
      await eventually(async () => (await instanceRow(inst.instanceId))?.online === true, 15_000, "companion online");
      const listed = (await c.api(`/api/instances/${inst.instanceId}`, { token: admin.token }))
        .json as TInstanceResponse;
      expect(listed.instance.presence).toMatchObject({ online: true, companionVersion: expect.any(String) as unknown });
      expect(listed.instance.presence.address).toMatch(/127\.0\.0\.1/);
      // Last seen: set when the companion connected, so within the time this test has run.
      const lastSeen = Date.parse(listed.instance.presence.lastSeenAt ?? "");
      expect(Date.now() - lastSeen).toBeGreaterThanOrEqual(0);
      expect(Date.now() - lastSeen).toBeLessThan(30_000);
      expect(listed.instance.enrolledAt).not.toBeNull();
    });

    it("judges online by the database's clock, which writes last seen, not by this node's", async () => {
      const listedOnline = async () => {
        const all = (await c.api("/api/instances", { token: admin.token })).json as TInstanceListResponse;
        const one = (await c.api(`/api/instances/${inst.instanceId}`, { token: admin.token }))
          .json as TInstanceResponse;
        return [all.instances.find((i) => i.id === inst.instanceId)?.presence.online, one.instance.presence.online];
      };
      // A node whose clock runs 100 s ahead of the database's: the live companion is online.
      // (PGlite runs in this process on its clock, so only a PostgreSQL server can disagree.)
      if (driver === "postgres") {
        vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 100_000 });
        try {
          expect(await listedOnline()).toEqual([true, true]);
        } finally {
          vi.useRealTimers();
        }
      }
      // Last seen 120 s ago by the database's clock (its node died without saying): offline.
      const db = c.running.database.db;
      await db
        .update(instances)
        .set({ lastSeenAt: sql`now() - interval '120 seconds'` })
        .where(eq(instances.id, inst.instanceId));
      try {
        expect(await listedOnline()).toEqual([false, false]);
      } finally {
        await db
          .update(instances)
          .set({ lastSeenAt: sql`now()` })
          .where(eq(instances.id, inst.instanceId));
      }
      expect(await listedOnline()).toEqual([true, true]);
    });

    it("a granted browser pings and reads system info end to end; the companion enforces the role", async () => {
      const s = await browser(viewer);
      const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer");
      const session = new RelaySession(s, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: viewer,
        bundle,
      });
      const { ack, hello } = await session.open();
      expect(ack).toEqual({ ok: true });
      expect(hello).toMatchObject({ kind: "hello", instanceId: inst.instanceId, role: "viewer" });
      const ping = await session.request("ping");
      expect(ping).toMatchObject({ kind: "result", type: "ping" });
      const sys = await session.request("system.info");
      expect(sys.kind).toBe("result");
      if (sys.kind === "result") expect(ZSystemInfoResultSchema.parse(sys.body).nodeVersion).toMatch(/^v\d+/);
      const rotate = await session.request("token.rotate");
      expect(rotate).toMatchObject({ kind: "error", error: { code: "forbidden" } });
    });

    it("refuses to relay for an account without a grant, and unknown sessions", async () => {
      const s = await browser(stranger);
      const bundle = signGrantBundle(admin, stranger, inst.instanceId, "operator");
      const session = new RelaySession(s, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: stranger,
        bundle,
      });
      const { ack } = await session.open();
      expect(ack).toMatchObject({ ok: false, error: { code: "forbidden" } });
      const stray = await sendFrame(s, {
        instanceId: inst.instanceId,
        sessionId: toBase64Url(randomBytes(16)),
        kind: "transport",
        frame: toBase64Url(randomBytes(40)),
      });
      expect(stray).toMatchObject({ ok: false, error: { code: "not_found" } });
      const malformed = await sendFrame(s, {
        instanceId: inst.instanceId,
        sessionId: "short",
        kind: "transport",
        frame: "",
      });
      expect(malformed).toMatchObject({ ok: false, error: { code: "validation_failed" } });
    });

    it("rotates the token end to end without dropping the companion's socket", async () => {
      const before = await instanceRow(inst.instanceId);
      const s = await browser(admin);
      const session = new RelaySession(s, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: admin,
        bundle: signGrantBundle(admin, admin, inst.instanceId, "admin"),
      });
      expect((await session.open()).hello?.role).toBe("admin");
      const r = await session.request("token.rotate");
      expect(r.kind, JSON.stringify(r)).toBe("result");
      if (r.kind !== "result") return;
      const next = decodeEnrollment(ZTokenRotateResultSchema.parse(r.body).enrollment);
      expect(next.instanceId).toBe(inst.instanceId);
      expect(next.token).not.toBe(inst.token);

      const after = await instanceRow(inst.instanceId);
      expect(after?.connectionId).toBe(before?.connectionId);
      expect(after?.online).toBe(true);
      expect(after?.tokenVersion).toBe((before?.tokenVersion ?? 0) + 1);
      // The stored hash is the new token's auth key's hash, and nothing more.
      if (!after) throw new Error("row missing");
      const keys = await deriveInstanceTokenKeys(
        next.token,
        kdfParams({ ...after.kdfParams, salt: after.kdfSalt }),
        inst.instanceId,
      );
      expect(Buffer.from(after.authKeyHash)).toEqual(Buffer.from(hashAuthKey(keys.authKey)));
      secrets.push(
        { label: "new token", value: next.token },
        { label: "new auth key", value: keys.authKey },
        { label: "new wrap key", value: keys.wrapKey },
      );
      expect(await session.request("ping")).toMatchObject({ kind: "result" });

      // The console's copy of the keys, re-wrapped under the new token, opens with the new line
      // (enrollment unwraps them and checks them against the instance certificate): a fresh
      // enrollment from it holds the same auth key and private keys as the running companion.
      const fresh = companionStateDir();
      try {
        const enroll = spawnCompanion("enroll", fresh, {
          VEIL_ENROLL: ZTokenRotateResultSchema.parse(r.body).enrollment,
        });
        expect(await enroll.exit, enroll.output()).toBe(0);
        expect(enroll.output()).not.toContain(next.token);
        const secretsOf = (dir: string): unknown => JSON.parse(readFileSync(path.join(dir, "secrets.json"), "utf8"));
        expect(secretsOf(fresh)).toEqual(secretsOf(stateDir));
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    });

    it("the database holds no token, auth key, wrap key or unwrapped private key", async () => {
      // Every table, every column (bytes also as hex, base64url and base64), as a thief would see it.
      const { tables, blob } = await dumpDatabase(c);
      expect(tables).toEqual(expect.arrayContaining(["instances", "instance_grants", "audit_log", "audit_head"]));
      expect(blob.length).toBeGreaterThan(500);
      for (const { label, value } of secrets)
        for (const form of forms(value)) expect(blob.includes(form), `${label} found in the database`).toBe(false);
    });

    it("one live socket per instance; WebSocket only; wrong keys refused", async () => {
      const other = await makeInstance(admin, "site two");
      expect((await c.api("/api/instances", { body: other.body, token: admin.token })).status).toBe(201);
      const polling = await companionSocket(other.instanceId, other.body.authKey, "polling");
      expect(polling).toMatchObject({ connected: false, error: "bad_request" });
      expect(await companionSocket(other.instanceId, toBase64Url(randomBytes(32)))).toMatchObject({
        connected: false,
        error: "unauthenticated",
      });
      // One spelling per id: PostgreSQL would match an upper-cased one, but the hub's maps (live
      // sockets, budgets, sessions) and a revocation would not, so it is refused at the door.
      expect(await companionSocket(other.instanceId.toUpperCase(), other.body.authKey)).toMatchObject({
        connected: false,
        error: "bad_request",
      });
      expect((await c.api(`/api/instances/${other.instanceId.toUpperCase()}`, { token: admin.token })).status).toBe(
        404,
      );
      const first = await companionSocket(other.instanceId, other.body.authKey);
      if (!first.connected) throw new Error(first.error);
      // No connection-state recovery: the console hands out no session id to resume with, so every
      // connection, a revoked instance's included, goes through the checks of the handshake.
      // (socket.io-client keeps `_pid` only when the server offers recovery; a recovered socket
      // would skip the namespace's middleware.)
      expect((first.socket as unknown as { _pid?: string })._pid).toBeUndefined();
      expect(first.socket.recovered).toBeFalsy();
      const firstGone = new Promise<string>((resolve) => first.socket.once("disconnect", (reason) => resolve(reason)));
      const second = await companionSocket(other.instanceId, other.body.authKey);
      expect(second.connected).toBe(true);
      expect(await firstGone).toBe("io server disconnect");
      await eventually(
        async () => {
          const row = await instanceRow(other.instanceId);
          return row?.online === true && second.connected && row.connectionId === second.socket.id;
        },
        5000,
        "second socket is the live one",
      );
    });

    it("wrong keys spend an instance's budget of failures, never the right key's way in", async () => {
      const made = await makeInstance(admin, "guessed at");
      expect((await c.api("/api/instances", { body: made.body, token: admin.token })).status).toBe(201);
      const outcomes: string[] = [];
      for (let i = 0; i < 12; i++) {
        const o = await companionSocket(made.instanceId, toBase64Url(randomBytes(32)));
        outcomes.push(o.connected ? "connected" : o.error);
      }
      expect(outcomes).toEqual([...Array<string>(10).fill("unauthenticated"), "rate_limited", "rate_limited"]);
      const right = await companionSocket(made.instanceId, made.body.authKey);
      expect(right.connected).toBe(true);
      if (right.connected) right.socket.disconnect();
    });

    it("a refused attempt closes its connection, which gets no second attempt", async () => {
      // socket.io would take CONNECT after CONNECT on one connection, each a database lookup. Raw
      // engine.io packets, as an attacker writes them (socket.io-client itself closes on refusal).
      const manager = new Manager(`https://localhost:${c.running.httpsPort}`, {
        transports: ["websocket"],
        ca: c.running.certificate.certPem,
        reconnection: false,
        forceNew: true,
        autoConnect: false,
      });
      await new Promise<void>((resolve, reject) => manager.open((error) => (error ? reject(error) : resolve())));
      const engine = manager.engine as unknown as {
        write(data: string): void;
        on(event: "message", listener: (data: string) => void): void;
        once(event: "close", listener: (reason: string) => void): void;
      };
      const received: string[] = [];
      engine.on("message", (data) => received.push(data));
      const closed = new Promise<string>((resolve) => engine.once("close", resolve));
      const attempt = `0/companion,${JSON.stringify({
        instanceId: inst.instanceId,
        authKey: toBase64Url(randomBytes(32)),
        protocolVersion: PROTOCOL_VERSION,
        companionVersion: "test",
      })}`;
      for (let i = 0; i < 5; i++) engine.write(attempt);
      const outcome = await Promise.race([closed, new Promise((r) => setTimeout(() => r("still open"), 3000))]);
      expect(outcome).not.toBe("still open");
      // At most the first attempt is looked up (its answer may not come: a refused repeat closes
      // the connection); the others are refused without a lookup.
      expect(received.filter((m) => m.includes('"unauthenticated"')).length).toBeLessThanOrEqual(1);
      expect(received.filter((m) => m.includes('"bad_request"')).length).toBeGreaterThanOrEqual(1);
      manager._close?.();
    });

    it("a companion gone while its presence is still being written is left offline", async () => {
      // Its disconnect used to mark it offline at once, which did nothing when that write overtook
      // the presence write (another pooled connection): the row then said online for 90 s. Four
      // instances, each under the login limit of the suite.
      for (let n = 0; n < 4; n++) {
        const made = await makeInstance(admin, `flicker ${n}`);
        expect((await c.api("/api/instances", { body: made.body, token: admin.token })).status).toBe(201);
        for (let round = 0; round < 6; round++) {
          const s = connect(`https://localhost:${c.running.httpsPort}/companion`, {
            transports: ["websocket"],
            ca: c.running.certificate.certPem,
            auth: {
              instanceId: made.instanceId,
              authKey: made.body.authKey,
              protocolVersion: PROTOCOL_VERSION,
              companionVersion: "test",
            },
            reconnection: false,
            forceNew: true,
          });
          await new Promise<void>((resolve) => s.once("connect", () => resolve(s.disconnect() && undefined)));
          await eventually(
            async () => {
              const row = await instanceRow(made.instanceId);
              return row?.online === false && row.connectionId === null;
            },
            2000,
            `offline after round ${round} of instance ${n}`,
          );
        }
      }
    });

    it("revocation disconnects the companion within 5 s and refuses every later attempt", async () => {
      const s = await browser(viewer);
      const session = new RelaySession(s, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: viewer,
        bundle: signGrantBundle(admin, viewer, inst.instanceId, "viewer"),
      });
      await session.open();
      await stepUp(c.api, admin);
      const started = Date.now();
      expect((await c.api(`/api/instances/${inst.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
        200,
      );
      const code = await companion?.exit;
      const elapsed = Date.now() - started;
      expect(code, companion?.output()).toBe(3);
      expect(elapsed).toBeLessThan(5000);
      companion = undefined;
      await eventually(() => session.closedReason !== undefined, 2000, "browser session closed");
      expect(session.closedReason).toBe("instance_revoked");
      await eventually(async () => (await instanceRow(inst.instanceId))?.online === false, 2000, "offline");

      // Every later attempt: socket (with the rotated key the companion holds), enrollment, relay.
      const row = await instanceRow(inst.instanceId);
      const latest = secrets.find((x) => x.label === "new auth key")?.value;
      if (!row || !(latest instanceof Uint8Array)) throw new Error("missing state");
      expect(await companionSocket(inst.instanceId, toBase64Url(latest))).toMatchObject({
        connected: false,
        error: "instance_revoked",
      });
      const enroll = await c.api(`${COMPANION_API_PREFIX}/instances/${inst.instanceId}/enroll`, {
        body: { authKey: toBase64Url(latest), protocolVersion: PROTOCOL_VERSION, companionVersion: "x" },
      });
      expect(enroll.status).toBe(401);
      const again = new RelaySession(s, {
        instanceId: inst.instanceId,
        instanceBoxPublicKey: inst.box.publicKey,
        account: viewer,
        bundle: signGrantBundle(admin, viewer, inst.instanceId, "viewer"),
      });
      expect((await again.open()).ack).toMatchObject({ ok: false, error: { code: "forbidden" } });
      const listed = (await c.api(`/api/instances/${inst.instanceId}`, { token: admin.token }))
        .json as TInstanceResponse;
      expect(listed.instance.presence.online).toBe(false);
      expect(fromBase64Url(listed.instance.boxPublicKey)).toEqual(inst.box.publicKey);
    });

    it("tells a companion connected elsewhere that it was revoked (session:ended)", async () => {
      const other = await makeInstance(admin, "site three");
      expect((await c.api("/api/instances", { body: other.body, token: admin.token })).status).toBe(201);
      const live = await companionSocket(other.instanceId, other.body.authKey);
      if (!live.connected) throw new Error(live.error);
      const ended = new Promise<TSessionEnded>((resolve) => live.socket.once("session:ended", resolve));
      const gone = new Promise<void>((resolve) => live.socket.once("disconnect", () => resolve()));
      await stepUp(c.api, admin);
      expect((await c.api(`/api/instances/${other.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
        200,
      );
      expect(await ended).toEqual({ reason: "instance_revoked" });
      await gone;
    });

    // Last: it spends this address's log-in budget for the rest of the minute.
    it("a companion with the right key connects even when its address has spent its log-in budget", async () => {
      const made = await makeInstance(admin, "shared address");
      expect((await c.api("/api/instances", { body: made.body, token: admin.token })).status).toBe(201);
      // Others at the site's address (users logging in, a LAN host guessing) spent it all.
      for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
        for (let i = 0; i < 1_001; i++) c.running.services.limiter.consume("login", ip);
      expect(await companionSocket(made.instanceId, toBase64Url(randomBytes(32)))).toMatchObject({
        connected: false,
        error: "rate_limited",
      });
      const right = await companionSocket(made.instanceId, made.body.authKey);
      expect(right.connected).toBe(true);
      if (right.connected) right.socket.disconnect();
    });
  });
}
