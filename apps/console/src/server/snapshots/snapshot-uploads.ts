import { and, asc, eq, gt } from "drizzle-orm";
import { instanceGrants } from "@veil/db";
import {
  MAX_SNAPSHOT_GRANTS,
  SNAPSHOT_CHUNK_BYTES,
  VeilError,
  ZSnapshotChunkSchema,
  type ErrorCode,
  type TGrantBundle,
  type TSnapshotChunk,
  type TSnapshotGrantsAck,
  type TSocketAck,
} from "@veil/protocol";
import type { CompanionSocket } from "../instances/relay-sockets";
import type { ConsoleServices } from "../services";
import { storeSnapshot } from "./snapshot-store";

/** Snapshot uploads an instance may start: a burst of this many … */
export const SNAPSHOT_UPLOAD_BURST = 3;
/** … refilled at one per this many ms (the companion sends one a minute, more on changes). */
export const SNAPSHOT_UPLOAD_REFILL_MS = 20_000;
/** An upload whose next chunk does not come within this long is dropped. */
export const SNAPSHOT_UPLOAD_IDLE_MS = 60_000;

/** Grant-list requests per instance: a burst of this many, refilled at one per 5 s. */
const GRANTS_BURST = 6;
const GRANTS_REFILL_MS = 5000;

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-node buckets per instance, one map per running console (like the companion hub). */
const buckets = new WeakMap<ConsoleServices, Map<string, Bucket>>();

function takeToken(services: ConsoleServices, key: string, burst: number, refillMs: number): boolean {
  let map = buckets.get(services);
  if (!map) {
    map = new Map();
    buckets.set(services, map);
  }
  const now = Date.now();
  const b = map.get(key) ?? { tokens: burst, at: now };
  b.tokens = Math.min(burst, b.tokens + (now - b.at) / refillMs);
  b.at = now;
  map.set(key, b);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

const fail = (code: ErrorCode): TSocketAck => ({ ok: false, ...new VeilError(code).toBody() });

interface Pending {
  sequence: number;
  parts: number;
  totalBytes: number;
  chunks: Buffer[];
  bytes: number;
  lastAt: number;
}

/**
 * The snapshot events of one authenticated companion socket (docs/PROTOCOL-COMPANION.md,
 * "Snapshots"): `snapshot:grants` lists the instance's unexpired grant bundles as stored (the
 * companion verifies each itself); `snapshot:chunk` takes a sealed snapshot in order, parts
 * 0 … parts-1 (a chunk outside that order drops the upload), capped at MAX_SNAPSHOT_BYTES, at
 * most SNAPSHOT_UPLOAD_BURST uploads per instance and then one per SNAPSHOT_UPLOAD_REFILL_MS
 * (per node), and stores it when complete unless its
 * sequence is not above the newest stored (`conflict`). The console never opens it.
 */
export function attachSnapshotEvents(socket: CompanionSocket, services: ConsoleServices): void {
  const { instanceId } = socket.data;
  let pending: Pending | null = null;
  const log = (error: unknown) =>
    services.log(`companion snapshot: ${error instanceof Error ? error.message : String(error)}`);

  socket.on("snapshot:grants", (_body: unknown, ack: unknown) => {
    if (typeof ack !== "function") return;
    const reply = ack as (r: TSnapshotGrantsAck | TSocketAck) => void;
    if (!takeToken(services, `grants:${instanceId}`, GRANTS_BURST, GRANTS_REFILL_MS))
      return reply(fail("rate_limited"));
    services.db
      .select({ bundle: instanceGrants.bundle })
      .from(instanceGrants)
      .where(and(eq(instanceGrants.instanceId, instanceId), gt(instanceGrants.expiresAt, new Date())))
      .orderBy(asc(instanceGrants.createdAt))
      .limit(MAX_SNAPSHOT_GRANTS)
      .then((rows) => reply({ ok: true, grants: rows.map((r) => r.bundle as unknown as TGrantBundle) }))
      .catch((error: unknown) => {
        log(error);
        reply(fail("internal"));
      });
  });

  socket.on("snapshot:chunk", (raw: unknown, ack: unknown) => {
    const reply = typeof ack === "function" ? (ack as (r: TSocketAck) => void) : () => undefined;
    const parsed = ZSnapshotChunkSchema.safeParse(raw);
    if (!parsed.success) {
      pending = null;
      return reply(fail("validation_failed"));
    }
    const result = accept(parsed.data);
    if (result !== "complete") return reply(result);
    const done = pending;
    pending = null;
    if (done === null) return reply(fail("internal"));
    storeSnapshot(services.db, instanceId, done.sequence, new Uint8Array(Buffer.concat(done.chunks)))
      .then((outcome) =>
        reply(outcome === "stored" ? { ok: true } : fail(outcome === "revoked" ? "instance_revoked" : "conflict")),
      )
      .catch((error: unknown) => {
        log(error);
        reply(fail("internal"));
      });
  });

  /** Adds one chunk to the upload in progress: an ack to send now, or "complete". */
  function accept(c: TSnapshotChunk): TSocketAck | "complete" {
    const now = Date.now();
    const data = Buffer.from(c.data, "base64url");
    const drop = (code: ErrorCode): TSocketAck => {
      pending = null;
      return fail(code);
    };
    if (pending !== null && now - pending.lastAt > SNAPSHOT_UPLOAD_IDLE_MS) pending = null;
    if (c.part === 0) {
      // Cheap checks first: a refused first chunk costs no upload token.
      if (data.length > c.totalBytes) return drop("payload_too_large");
      if (c.parts !== Math.ceil(c.totalBytes / SNAPSHOT_CHUNK_BYTES)) return drop("validation_failed");
      if (!takeToken(services, `upload:${instanceId}`, SNAPSHOT_UPLOAD_BURST, SNAPSHOT_UPLOAD_REFILL_MS))
        return drop("rate_limited");
      pending = { sequence: c.sequence, parts: c.parts, totalBytes: c.totalBytes, chunks: [], bytes: 0, lastAt: now };
    }
    const p = pending;
    if (
      p === null ||
      c.sequence !== p.sequence ||
      c.parts !== p.parts ||
      c.totalBytes !== p.totalBytes ||
      c.part !== p.chunks.length
    )
      return drop("validation_failed");
    p.bytes += data.length;
    if (p.bytes > p.totalBytes) return drop("payload_too_large");
    p.chunks.push(data);
    p.lastAt = now;
    if (p.chunks.length < p.parts) return { ok: true };
    if (p.bytes !== p.totalBytes) return drop("validation_failed");
    return "complete";
  }
}
