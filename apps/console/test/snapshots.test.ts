import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instanceSnapshots } from "@veil/db";
import {
  MAX_SNAPSHOT_BYTES,
  encodeEnrollment,
  PROTOCOL_VERSION,
  SNAPSHOT_CHUNK_BYTES,
  ZSnapshotGrantsAckSchema,
  ZSnapshotResponseSchema,
  type TCompanionInfoResponse,
  type TSnapshotChunk,
  type TSocketAck,
} from "@veil/protocol";
import { fingerprint, toBase64Url } from "@veil/crypto";
import { rmSync } from "node:fs";
import { DEFAULT_RATE_LIMITS } from "../src/server/config";
import { storeSnapshot } from "../src/server/snapshots/snapshot-store";
import { openSnapshot } from "../src/client/snapshots/open-snapshot";
import { stepUp } from "./helpers/accounts";
import { DATABASE_URL, drivers, PG_SKIP_MESSAGE, startTestConsole, type TestConsole } from "./helpers/console";
import {
  companionStateDir,
  eventually,
  inviteKeyed,
  makeInstance,
  signGrantBundle,
  signUpKeyed,
  spawnCompanion,
  type BrowserMadeInstance,
  type KeyedAccount,
} from "./helpers/instances";

/** What the companion does (apps/companion/src/snapshots): chunks in order, each acknowledged. */
async function uploadSnapshot(socket: Socket, sequence: number, sealed: Uint8Array): Promise<TSocketAck> {
  const parts = Math.ceil(sealed.length / SNAPSHOT_CHUNK_BYTES);
  let ack: TSocketAck = { ok: true };
  for (let part = 0; part < parts; part++) {
    const chunk: TSnapshotChunk = {
      sequence,
      part,
      parts,
      totalBytes: sealed.length,
      data: toBase64Url(sealed.subarray(part * SNAPSHOT_CHUNK_BYTES, (part + 1) * SNAPSHOT_CHUNK_BYTES)),
    };
    ack = (await socket.timeout(10_000).emitWithAck("snapshot:chunk", chunk)) as TSocketAck;
    if (!ack.ok) return ack;
  }
  return ack;
}

const code = (ack: unknown): string | undefined => (ack as { error?: { code?: string } }).error?.code;

for (const driver of drivers) {
  // The PostgreSQL half needs a server: CI sets DATABASE_URL; without it only PGlite runs.
  const skip = driver === "postgres" && !DATABASE_URL;
  if (skip) console.warn(`[console snapshots] ${PG_SKIP_MESSAGE}`);

  describe.skipIf(skip)(`last-known snapshots on the console (${driver}): opaque, members only, newest 3`, () => {
    let c: TestConsole;
    let admin: KeyedAccount;
    let viewer: KeyedAccount;
    let stranger: KeyedAccount;
    let inst: BrowserMadeInstance;
    let other: BrowserMadeInstance;
    const sockets: Socket[] = [];
    const sealedAt = new Map<number, Uint8Array>();

    const companion = async (i: BrowserMadeInstance): Promise<Socket> => {
      const s = connect(`https://localhost:${c.running.httpsPort}/companion`, {
        transports: ["websocket"],
        ca: c.running.certificate.certPem,
        auth: {
          instanceId: i.instanceId,
          authKey: toBase64Url(i.keys.authKey),
          protocolVersion: PROTOCOL_VERSION,
          companionVersion: "test",
        },
        reconnection: false,
        forceNew: true,
      });
      sockets.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("connect", () => resolve());
        s.once("connect_error", reject);
      });
      return s;
    };
    const fetchAs = (account: KeyedAccount | null, instanceId = inst.instanceId) =>
      c.api(`/api/instances/${instanceId}/snapshot`, account ? { token: account.token } : {});
    const rows = async (instanceId: string) =>
      (await c.running.database.db.select().from(instanceSnapshots).where(eq(instanceSnapshots.instanceId, instanceId)))
        .map((r) => r.sequence)
        .sort((a, b) => a - b);
    const junk = (bytes: number): Uint8Array => new Uint8Array(randomBytes(bytes));
    const blob = (sequence: number, bytes = 200_000): Uint8Array => {
      const b = new Uint8Array(randomBytes(bytes));
      sealedAt.set(sequence, b);
      return b;
    };

    beforeAll(async () => {
      c = await startTestConsole({
        driver,
        rateLimits: { ...DEFAULT_RATE_LIMITS, login: { perIp: 1000, perAccount: 10, windowSeconds: 60 } },
      });
      admin = await signUpKeyed(c.api, "admin@example.test");
      viewer = await inviteKeyed(c.api, admin, "viewer@example.test", "viewer");
      stranger = await inviteKeyed(c.api, admin, "stranger@example.test", "operator");
      inst = await makeInstance(admin, "snap site");
      other = await makeInstance(admin, "other site");
      for (const i of [inst, other])
        expect((await c.api("/api/instances", { body: i.body, token: admin.token })).status).toBe(201);
      const expiresAt = Date.now() + 3600_000;
      const bundle = signGrantBundle(admin, viewer, inst.instanceId, "viewer", expiresAt);
      const r = await c.api(`/api/instances/${inst.instanceId}/grants`, {
        body: { accountId: viewer.userId, role: "viewer", expiresAt, bundle },
        token: admin.token,
      });
      expect(r.status).toBe(201);
    });
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await c?.stop();
    });

    it("lists the instance's stored grant bundles to its own companion, for it to verify", async () => {
      const s = await companion(inst);
      const ack = ZSnapshotGrantsAckSchema.parse(await s.timeout(10_000).emitWithAck("snapshot:grants", {}));
      if (!ack.ok) throw new Error(`refused: ${ack.error.code}`);
      expect(ack.grants).toHaveLength(1);
      expect(ack.grants[0]?.grant.body).toMatchObject({ accountId: viewer.userId, instanceId: inst.instanceId });
      const o = await companion(other);
      const none = ZSnapshotGrantsAckSchema.parse(await o.timeout(10_000).emitWithAck("snapshot:grants", {}));
      expect(none).toEqual({ ok: true, grants: [] });
    });

    it("refuses malformed, oversized, out-of-order and overlong chunks without spending an upload", async () => {
      const s = await companion(inst);
      const chunk = (over: Partial<TSnapshotChunk>): Promise<unknown> =>
        s.timeout(10_000).emitWithAck("snapshot:chunk", {
          sequence: 1,
          part: 0,
          parts: 1,
          totalBytes: 3,
          data: toBase64Url(new Uint8Array([1, 2, 3])),
          ...over,
        });
      expect(code(await chunk({ totalBytes: MAX_SNAPSHOT_BYTES + 1, parts: 65 }))).toBe("validation_failed");
      expect(code(await chunk({ data: toBase64Url(new Uint8Array(SNAPSHOT_CHUNK_BYTES + 1)) }))).toBe(
        "validation_failed",
      );
      expect(code(await chunk({ totalBytes: 2 }))).toBe("payload_too_large");
      expect(code(await chunk({ part: 1, parts: 2, totalBytes: SNAPSHOT_CHUNK_BYTES + 3 }))).toBe("validation_failed");
      expect(code(await chunk({ parts: 2 }))).toBe("validation_failed");
      expect(code(await s.timeout(10_000).emitWithAck("snapshot:chunk", "not a chunk"))).toBe("validation_failed");
      expect(await rows(inst.instanceId)).toEqual([]);
    });

    it("stores a complete upload opaque; refuses a replayed or older sequence; rate-limits uploads", async () => {
      const s = await companion(inst);
      expect(await uploadSnapshot(s, 10, blob(10))).toEqual({ ok: true }); // two chunks
      expect(code(await uploadSnapshot(s, 5, junk(100)))).toBe("conflict");
      expect(code(await uploadSnapshot(s, 10, junk(100)))).toBe("conflict"); // a replay
      expect(await rows(inst.instanceId)).toEqual([10]);
      // Three uploads were started: the burst is spent.
      expect(code(await uploadSnapshot(s, 20, junk(100)))).toBe("rate_limited");
      const [row] = await c.running.database.db
        .select()
        .from(instanceSnapshots)
        .where(eq(instanceSnapshots.instanceId, inst.instanceId));
      expect(row?.sizeBytes).toBe(200_000);
      expect(row?.sealed).toEqual(sealedAt.get(10));
    });

    it("serves the newest to members only: grantee and adding admin yes, a stranger 404, no session 401", async () => {
      expect((await fetchAs(null)).status).toBe(401);
      expect((await fetchAs(stranger)).status).toBe(404);
      expect((await fetchAs(viewer, "00000000-0000-4000-8000-000000000000")).status).toBe(404);
      for (const who of [viewer, admin]) {
        const r = await fetchAs(who);
        expect(r.status).toBe(200);
        const body = ZSnapshotResponseSchema.parse(r.json);
        expect(body.snapshot?.sequence).toBe(10);
        expect(body.snapshot?.sizeBytes).toBe(200_000);
        expect(Buffer.from(body.snapshot?.sealed ?? "", "base64url").equals(Buffer.from(sealedAt.get(10) ?? []))).toBe(
          true,
        );
      }
      // Another instance's companion cannot write here: its uploads land on its own instance.
      const o = await companion(other);
      expect(await uploadSnapshot(o, 99, blob(99, 100))).toEqual({ ok: true });
      expect(ZSnapshotResponseSchema.parse((await fetchAs(viewer)).json).snapshot?.sequence).toBe(10);
      expect(await rows(other.instanceId)).toEqual([99]);
      // The viewer holds no grant on the other instance.
      expect((await fetchAs(viewer, other.instanceId)).status).toBe(404);
      expect(ZSnapshotResponseSchema.parse((await fetchAs(admin, other.instanceId)).json).snapshot?.sequence).toBe(99);
    });

    it("keeps only the newest 3 per instance", async () => {
      const db = c.running.database.db;
      for (const seq of [20, 30, 40])
        expect(await storeSnapshot(db, inst.instanceId, seq, blob(seq, 64))).toBe("stored");
      expect(await storeSnapshot(db, inst.instanceId, 35, blob(35, 64))).toBe("stale");
      expect(await rows(inst.instanceId)).toEqual([20, 30, 40]);
      expect(await storeSnapshot(db, inst.instanceId, 50, blob(50, 64))).toBe("stored");
      expect(await rows(inst.instanceId)).toEqual([30, 40, 50]);
      expect(ZSnapshotResponseSchema.parse((await fetchAs(viewer)).json).snapshot?.sequence).toBe(50);
      expect(await rows(other.instanceId)).toEqual([99]);
    });

    it("end to end: the real companion CLI uploads on connect and on SIGTERM; a grantee opens what the console serves", async () => {
      const live = await makeInstance(admin, "live site");
      expect((await c.api("/api/instances", { body: live.body, token: admin.token })).status).toBe(201);
      const expiresAt = Date.now() + 3600_000;
      const bundle = signGrantBundle(admin, viewer, live.instanceId, "viewer", expiresAt);
      const g = { accountId: viewer.userId, role: "viewer", expiresAt, bundle };
      expect((await c.api(`/api/instances/${live.instanceId}/grants`, { body: g, token: admin.token })).status).toBe(
        201,
      );
      const info = (await c.api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
      const stateDir = companionStateDir();
      try {
        const enrollment = encodeEnrollment({
          consoleUrl: info.consoleUrl,
          instanceId: live.instanceId,
          token: live.token,
          signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
          consolePin: info.consolePin,
        });
        const enroll = spawnCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment });
        expect(await enroll.exit, enroll.output()).toBe(0);
        const device = { VEIL_DEVICE_BIND: "127.0.0.1", VEIL_INFORM_PORT: "0", VEIL_DEVICE_CHANNEL_PORT: "0" };
        const run = spawnCompanion("run", stateDir, device);
        await eventually(async () => (await rows(live.instanceId)).length >= 1, 30_000, "a first snapshot");
        const before = await rows(live.instanceId);
        run.kill("SIGTERM");
        expect(await run.exit, run.output()).toBe(0);
        const after = await rows(live.instanceId);
        expect(after.length).toBe(Math.min(3, before.length + 1));
        const served = ZSnapshotResponseSchema.parse((await fetchAs(viewer, live.instanceId)).json).snapshot;
        if (served === null) throw new Error("no snapshot served");
        expect(served.sequence).toBe(after.at(-1));
        const opened = await openSnapshot(served, {
          instanceId: live.instanceId,
          instanceIdentityPublicKey: live.identity.publicKey,
          recipient: viewer.box,
          minSequence: before.at(-1) ?? 0,
        });
        expect(opened).toMatchObject({ instanceId: live.instanceId, sequence: served.sequence, devices: [] });
        // An account without a grant on the instance cannot open what the console serves.
        await expect(
          openSnapshot(served, {
            instanceId: live.instanceId,
            instanceIdentityPublicKey: live.identity.publicKey,
            recipient: stranger.box,
            minSequence: 0,
          }),
        ).rejects.toMatchObject({ code: "not_openable" });
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });

    it("revoking the instance deletes its snapshots (and only its own)", async () => {
      await stepUp(c.api, admin);
      expect((await c.api(`/api/instances/${inst.instanceId}/revoke`, { body: {}, token: admin.token })).status).toBe(
        200,
      );
      expect(await rows(inst.instanceId)).toEqual([]);
      // An upload that completes after the revocation (say, on another node) stores nothing.
      expect(await storeSnapshot(c.running.database.db, inst.instanceId, 1_000_000, new Uint8Array(64))).toBe(
        "revoked",
      );
      expect(await rows(inst.instanceId)).toEqual([]);
      expect((await fetchAs(viewer)).status).toBe(404);
      expect((await fetchAs(admin)).status).toBe(404);
      expect(await rows(other.instanceId)).toEqual([99]);
    });
  });
}
