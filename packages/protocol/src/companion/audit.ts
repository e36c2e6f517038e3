import { z } from "zod";
import { ZIdSchema, ZRoleSchema, type TRole } from "../fields";

/**
 * The companion audit log (issue 6): every request a companion executes, every session it
 * opens or refuses, in a local SHA-256 hash chain. `audit.read` pages through it end to end;
 * the browser recomputes every hash and checks every link (docs/COMPANION-AUDIT.md).
 */

const ZEpochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZSeq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A SHA-256 hash, lower-case hex. */
export const ZAuditHashSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** `prev` of the very first record of a log. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);

/** Domain label hashed in front of every record, so an audit hash never equals another hash we compute. */
export const AUDIT_HASH_LABEL = "veil/v1/audit-record";

/** What a record is about. */
export const ZAuditKindSchema = z.enum(["request", "session", "event", "anchor"]);
export type TAuditKind = z.infer<typeof ZAuditKindSchema>;

/** Small named counters (e.g. terminal bytes in/out); at most 8. */
export const ZAuditMetricsSchema = z
  .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]{0,31}$/), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
  .refine((m) => Object.keys(m).length <= 8, "at most 8 metrics");

/**
 * One audit record: a line of JSON in the log file. `target` is a short summary built only from
 * fields that match strict non-secret patterns (MACs, ids, addresses, counts); credentials,
 * vault plaintext and terminal bytes never reach a record.
 */
export const ZAuditRecordSchema = z.strictObject({
  seq: ZSeq,
  at: ZEpochMs,
  kind: ZAuditKindSchema,
  /** Who: the account of the verified grant (null for records of the companion itself). */
  accountId: ZIdSchema.nullable(),
  /** SHA-256 identity fingerprint of the key that signed the grant (pinned signer or delegated admin). */
  signer: ZAuditHashSchema.nullable(),
  role: ZRoleSchema.nullable(),
  /** What: the request type, or an event name such as `session.open` or `audit.start`. */
  type: z
    .string()
    .regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9-]*)*$/)
    .max(64),
  target: z.string().max(160).nullable(),
  result: z.enum(["ok", "error"]),
  code: z.string().max(64).nullable(),
  durationMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  metrics: ZAuditMetricsSchema.nullable(),
  /** Free text of the companion itself (anchors: what broke and where). Never request content. */
  detail: z.string().max(300).nullable(),
  prev: ZAuditHashSchema,
  hash: ZAuditHashSchema,
});
export type TAuditRecord = z.infer<typeof ZAuditRecordSchema>;

/** A record before it is chained: what a caller of `append` gives. */
export type TAuditEntry = Omit<TAuditRecord, "seq" | "at" | "prev" | "hash">;

/**
 * The exact bytes hashed for a record: the label, a newline, then the JSON array of every field
 * but `hash` in a fixed order (an array, so no key-order ambiguity). hash = SHA-256(these bytes).
 */
export function auditHashInput(record: Omit<TAuditRecord, "hash">): string {
  const r = record;
  const fields = [r.seq, r.at, r.kind, r.accountId, r.signer, r.role, r.type, r.target, r.result, r.code];
  const metrics = r.metrics === null ? null : Object.entries(r.metrics).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${AUDIT_HASH_LABEL}\n${JSON.stringify([...fields, r.durationMs, metrics, r.detail, r.prev])}`;
}

/** Where a chain check failed. */
export interface TAuditBreak {
  seq: number;
  reason: "hash_mismatch" | "link_mismatch" | "seq_gap" | "head_mismatch";
}

/**
 * Checks records (ascending, contiguous in the log) against `sha256` (hex of UTF-8 bytes):
 * each stored hash is the recomputed one, each `prev` is the hash before it, and seqs count up
 * by one. `previousHash`, when given, is what the first record must link to. Reports every
 * break; after a hash mismatch the stored hash is followed, so one edit is one break.
 */
export function verifyAuditChain(
  records: readonly TAuditRecord[],
  sha256Hex: (text: string) => string,
  previousHash?: string | null,
): TAuditBreak[] {
  const breaks: TAuditBreak[] = [];
  let prev: TAuditRecord | undefined;
  for (const r of records) {
    const { hash, ...rest } = r;
    if (prev === undefined) {
      if (previousHash !== undefined && previousHash !== null && r.prev !== previousHash)
        breaks.push({ seq: r.seq, reason: "link_mismatch" });
    } else if (r.prev !== prev.hash) breaks.push({ seq: r.seq, reason: "link_mismatch" });
    else if (r.seq !== prev.seq + 1) breaks.push({ seq: r.seq, reason: "seq_gap" });
    if (sha256Hex(auditHashInput(rest)) !== hash) breaks.push({ seq: r.seq, reason: "hash_mismatch" });
    prev = r;
  }
  return breaks;
}

/** Most records in one `audit.read` page (the companion may return fewer to stay under the message cap). */
export const MAX_AUDIT_PAGE = 200;

/** `audit.read` (auditor or admin): one page of the log, newest first by `before`. */
export const ZAuditReadBodySchema = z.strictObject({
  /** Only records with a smaller seq (the next older page); omitted: the newest. */
  before: ZSeq.optional(),
  limit: z.number().int().min(1).max(MAX_AUDIT_PAGE).default(100),
});
export type TAuditReadBody = z.infer<typeof ZAuditReadBodySchema>;

/** The newest record of the log. */
export const ZAuditHeadSchema = z.strictObject({ seq: ZSeq, hash: ZAuditHashSchema });

export const ZAuditReadResultSchema = z.strictObject({
  /** Ascending by seq (chain order). */
  records: z.array(ZAuditRecordSchema).max(MAX_AUDIT_PAGE),
  /** Stored hash of the record just before `records[0]` in the log; null at the start of what is kept. */
  previousHash: ZAuditHashSchema.nullable(),
  /** Whether older records exist. */
  more: z.boolean(),
  head: ZAuditHeadSchema.nullable(),
});
export type TAuditReadResult = z.infer<typeof ZAuditReadResultSchema>;

interface Spec {
  readonly minRole: TRole;
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

/** Audit requests, merged into REQUEST_CATALOGUE. */
export const AUDIT_REQUEST_CATALOGUE = {
  "audit.read": { minRole: "auditor", write: false, body: ZAuditReadBodySchema, result: ZAuditReadResultSchema },
} as const satisfies Record<string, Spec>;
