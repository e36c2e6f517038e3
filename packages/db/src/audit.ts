import { createHash } from "node:crypto";
import { and, asc, desc, eq, gt, gte, lt, lte, type SQL } from "drizzle-orm";
import type { VeilDatabase } from "./open-database";
import { auditHead, auditLog } from "./schema";

export type AuditOutcome = "success" | "failure" | "denied";

export interface AuditEventInput {
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly actorUserId?: string | null;
  readonly actorEmail?: string | null;
  readonly targetType?: string | null;
  readonly targetId?: string | null;
  readonly ip?: string | null;
  readonly details?: Record<string, unknown>;
  /** Defaults to now; tests pass a date to exercise retention. */
  readonly at?: Date;
}

export type AuditRow = typeof auditLog.$inferSelect;

const ZERO_HASH = new Uint8Array(32);

/** Sorted-key JSON so the same content always hashes the same on every node and driver. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The canonical content of a row (version 1), everything except the two hashes. */
export function canonicalAuditContent(row: Omit<AuditRow, "prevHash" | "hash">): string {
  return canonicalJson([
    "veil-audit-v1",
    row.seq,
    row.at.toISOString(),
    row.actorUserId,
    row.actorEmail,
    row.action,
    row.outcome,
    row.targetType,
    row.targetId,
    row.ip,
    row.details,
  ]);
}

/** hash = SHA-256(prev_hash || UTF-8(canonical content)). */
export function auditRowHash(prevHash: Uint8Array, row: Omit<AuditRow, "prevHash" | "hash">): Uint8Array {
  return new Uint8Array(createHash("sha256").update(prevHash).update(canonicalAuditContent(row), "utf8").digest());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Appends one event. The head row is locked FOR UPDATE so concurrent writers (and several
 * console nodes) extend the chain one at a time.
 */
export async function appendAudit(db: VeilDatabase, event: AuditEventInput): Promise<AuditRow> {
  return db.transaction(async (tx) => {
    const [head] = await tx.select().from(auditHead).where(eq(auditHead.id, 1)).for("update");
    if (!head) throw new Error("audit_head row missing: migrations not applied");
    const content = {
      seq: head.lastSeq + 1,
      at: event.at ?? new Date(),
      actorUserId: event.actorUserId ?? null,
      actorEmail: event.actorEmail ?? null,
      action: event.action,
      outcome: event.outcome,
      targetType: event.targetType ?? null,
      targetId: event.targetId ?? null,
      ip: event.ip ?? null,
      details: event.details ?? {},
    };
    // Round-trip details through JSON so what we hash is exactly what jsonb gives back.
    content.details = JSON.parse(JSON.stringify(content.details)) as Record<string, unknown>;
    const hash = auditRowHash(head.lastHash, content);
    const row: AuditRow = { ...content, prevHash: head.lastHash, hash };
    await tx.insert(auditLog).values(row);
    await tx.update(auditHead).set({ lastSeq: row.seq, lastHash: hash }).where(eq(auditHead.id, 1));
    return row;
  });
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly anchorSeq: number;
  /** First seq that failed, when !ok. */
  readonly brokenAt?: number;
  readonly reason?: string;
}

/** Recomputes the chain from the stored anchor to the head. */
export async function verifyAuditChain(db: VeilDatabase, pageSize = 1000): Promise<AuditVerification> {
  const [head] = await db.select().from(auditHead).where(eq(auditHead.id, 1));
  if (!head) return { ok: false, checked: 0, anchorSeq: 0, reason: "no head" };
  let prev = head.anchorSeq === 0 ? ZERO_HASH : head.anchorHash;
  let expectSeq = head.anchorSeq + 1;
  let checked = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(gt(auditLog.seq, expectSeq - 1))
      .orderBy(asc(auditLog.seq))
      .limit(pageSize);
    for (const row of rows) {
      if (row.seq !== expectSeq)
        return { ok: false, checked, anchorSeq: head.anchorSeq, brokenAt: expectSeq, reason: "missing row" };
      if (!sameBytes(row.prevHash, prev))
        return { ok: false, checked, anchorSeq: head.anchorSeq, brokenAt: row.seq, reason: "prev_hash mismatch" };
      if (!sameBytes(auditRowHash(prev, row), row.hash))
        return { ok: false, checked, anchorSeq: head.anchorSeq, brokenAt: row.seq, reason: "hash mismatch" };
      prev = row.hash;
      expectSeq += 1;
      checked += 1;
    }
    if (rows.length < pageSize) break;
  }
  if (expectSeq - 1 !== head.lastSeq || (head.lastSeq > head.anchorSeq && !sameBytes(prev, head.lastHash))) {
    return { ok: false, checked, anchorSeq: head.anchorSeq, brokenAt: expectSeq, reason: "head mismatch" };
  }
  return { ok: true, checked, anchorSeq: head.anchorSeq };
}

/**
 * Retention: deletes rows older than `before`, oldest first and contiguously, and stores the
 * last deleted row's hash as the new anchor so the rest of the chain still verifies.
 */
export async function pruneAudit(db: VeilDatabase, before: Date): Promise<{ deleted: number; anchorSeq: number }> {
  return db.transaction(async (tx) => {
    const [head] = await tx.select().from(auditHead).where(eq(auditHead.id, 1)).for("update");
    if (!head) throw new Error("audit_head row missing");
    // The newest row older than the cut-off; everything up to it goes (seq order is time order).
    const [last] = await tx
      .select({ seq: auditLog.seq, hash: auditLog.hash, at: auditLog.at })
      .from(auditLog)
      .where(lt(auditLog.at, before))
      .orderBy(desc(auditLog.seq))
      .limit(1);
    if (!last) return { deleted: 0, anchorSeq: head.anchorSeq };
    const deleted = await tx.delete(auditLog).where(lte(auditLog.seq, last.seq)).returning({ seq: auditLog.seq });
    await tx
      .update(auditHead)
      .set({ anchorSeq: last.seq, anchorHash: last.hash, anchorAt: last.at })
      .where(eq(auditHead.id, 1));
    return { deleted: deleted.length, anchorSeq: last.seq };
  });
}

export interface AuditQuery {
  readonly action?: string;
  readonly actorUserId?: string;
  readonly outcome?: AuditOutcome;
  readonly from?: Date;
  readonly to?: Date;
  /** Keyset pagination: rows with seq < before. */
  readonly beforeSeq?: number;
  readonly limit: number;
}

/** Newest first, filtered. */
export async function queryAudit(db: VeilDatabase, q: AuditQuery): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.actorUserId) where.push(eq(auditLog.actorUserId, q.actorUserId));
  if (q.outcome) where.push(eq(auditLog.outcome, q.outcome));
  if (q.from) where.push(gte(auditLog.at, q.from));
  if (q.to) where.push(lt(auditLog.at, q.to));
  if (q.beforeSeq !== undefined) where.push(lt(auditLog.seq, q.beforeSeq));
  return db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.seq))
    .limit(q.limit);
}
