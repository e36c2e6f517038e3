import { z } from "zod";
import { UUID, ZIdSchema, ZRoleSchema, type TRole } from "../fields";
import { ZEpochMsSchema } from "./statements";
import { DEVICE_REQUEST_CATALOGUE } from "./devices";
import { DISCOVERY_REQUEST_CATALOGUE } from "./discovery";
import { VAULT_REQUEST_CATALOGUE } from "./vault";
import { AUDIT_REQUEST_CATALOGUE } from "./audit";
import { TERMINAL_REQUEST_CATALOGUE } from "./terminal";

/**
 * End-to-end messages: the JSON (UTF-8) plaintexts of Noise transport frames between a browser
 * and a companion. The console never sees them. Every message is parsed with these schemas
 * after decryption (docs/PROTOCOL-COMPANION.md, "Messages").
 */

/** Longest a request may live: `expiresAt` more than this far ahead is refused (bounds the replay cache). */
export const MAX_REQUEST_TTL_MS = 5 * 60_000;
/** Largest plaintext of one E2E message. */
export const MAX_E2E_MESSAGE_BYTES = 60_000;

/** Request type names: dotted words, each starting lower-case (`devices.setInterval`, `siteKey.get`). */
const REQUEST_TYPE = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9-]*)*$/;
const MAX_REQUEST_TYPE_CHARS = 64;
export const ZRequestTypeSchema = z.string().regex(REQUEST_TYPE).max(MAX_REQUEST_TYPE_CHARS);

/** Browser → companion: one request, executed at most once per (account, id). */
export const ZE2ERequestSchema = z.strictObject({
  kind: z.literal("request"),
  id: ZIdSchema,
  expiresAt: ZEpochMsSchema,
  type: ZRequestTypeSchema,
  body: z.unknown(),
});
export type TE2ERequest = z.infer<typeof ZE2ERequestSchema>;

/*
 * Every request and every answer is parsed once at its receiving end, and one request at a time
 * each parse runs cold, where zod's walk over its schema costs several microseconds. So the
 * common shapes go the short way, as relay frames do (parseRelayFrame in ../socket.ts): a message
 * that certainly parses is checked by hand against its schema's own rules and copied field by
 * field in the schema's key order. Anything that check does not accept goes through the schema,
 * which has the last word; the shortcut only ever accepts what the schema accepts, with the same
 * result (test/e2e-messages.test.ts checks both on generated and mutated messages).
 */

/**
 * Whether `raw` is an object (not an array) whose enumerable keys, inherited ones included, are
 * all in `keys` and which holds every one of them: what a strictObject with these keys asks
 * (it looks at keys with for…in, and takes a key whose value is undefined as present).
 */
function hasExactly(raw: unknown, keys: readonly string[]): raw is Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  for (const key in raw) if (!keys.includes(key)) return false;
  for (const key of keys) if (!(key in raw)) return false;
  return true;
}

/** What ZRequestTypeSchema checks: a well-formed type name (known or not). */
const isTypeName = (v: unknown): v is string =>
  typeof v === "string" && v.length <= MAX_REQUEST_TYPE_CHARS && REQUEST_TYPE.test(v);
const isUuid = (v: unknown): v is string => typeof v === "string" && UUID.test(v);
/** `z.number().int().min(0)`, and ZEpochMsSchema: a safe integer, not negative. */
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

const REQUEST_KEYS = ["kind", "id", "expiresAt", "type", "body"] as const;

/** A decrypted request as ZE2ERequestSchema parses it, or null when it does not parse. */
export function parseE2ERequest(raw: unknown): TE2ERequest | null {
  if (
    hasExactly(raw, REQUEST_KEYS) &&
    raw.kind === "request" &&
    isUuid(raw.id) &&
    isCount(raw.expiresAt) &&
    isTypeName(raw.type)
  )
    return { kind: "request", id: raw.id, expiresAt: raw.expiresAt, type: raw.type, body: raw.body };
  return ZE2ERequestSchema.safeParse(raw).data ?? null;
}

/**
 * Browser → companion: the browser has taken in every event of push stream `subscriptionId` up to
 * and including `seq` (flow control; docs/PROTOCOL-COMPANION.md, "Stream flow control"). Sent
 * only to a companion whose hello names a `streamWindowBytes`; never answered. The companion keeps
 * at most that many bytes of a stream's events unacknowledged once the browser has acknowledged
 * one, and stops the stream if the window stays full for STREAM_STALL_MS.
 */
export const ZE2EAckSchema = z.strictObject({
  kind: z.literal("ack"),
  subscriptionId: ZIdSchema,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type TE2EAck = z.infer<typeof ZE2EAckSchema>;

/** Event bytes (the UTF-8 plaintext of each event message) a push stream keeps unacknowledged at most. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/** A push stream whose window stays full this long without an acknowledgement ends with `error`. */
export const STREAM_STALL_MS = 30_000;

/** Stable error codes of E2E responses. */
export const ZE2EErrorCodeSchema = z.enum([
  "bad_request",
  "unknown_type",
  "forbidden",
  "expired",
  "duplicate",
  "too_many_subscriptions",
  "rate_limited",
  "unavailable",
  "internal",
]);
export type TE2EErrorCode = z.infer<typeof ZE2EErrorCodeSchema>;

/** The typed error of a request: a stable code, a retryable flag and a user-safe message. */
export const ZE2EErrorSchema = z.strictObject({
  code: ZE2EErrorCodeSchema,
  message: z.string().max(300),
  retryable: z.boolean(),
});
export type TE2EError = z.infer<typeof ZE2EErrorSchema>;

/** Companion → browser messages. */
export const ZE2EResponseSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("result"), id: ZIdSchema, type: ZRequestTypeSchema, body: z.unknown() }),
  z.strictObject({ kind: z.literal("error"), id: ZIdSchema.nullable(), error: ZE2EErrorSchema }),
  z.strictObject({
    kind: z.literal("event"),
    subscriptionId: ZIdSchema,
    seq: z.number().int().min(0),
    type: ZRequestTypeSchema,
    body: z.unknown(),
  }),
  z.strictObject({
    kind: z.literal("end"),
    subscriptionId: ZIdSchema,
    reason: z.enum(["cancelled", "session_closed", "error"]),
  }),
]);
export type TE2EResponse = z.infer<typeof ZE2EResponseSchema>;

const RESULT_KEYS = ["kind", "id", "type", "body"] as const;
const EVENT_KEYS = ["kind", "subscriptionId", "seq", "type", "body"] as const;

/**
 * A decrypted answer as ZE2EResponseSchema parses it, or null when it does not parse: results
 * and stream events the short way (see parseE2ERequest), errors and stream ends through the schema.
 */
export function parseE2EResponse(raw: unknown): TE2EResponse | null {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (kind === "result" && hasExactly(raw, RESULT_KEYS) && isUuid(raw.id) && isTypeName(raw.type))
    return { kind, id: raw.id, type: raw.type, body: raw.body };
  if (
    kind === "event" &&
    hasExactly(raw, EVENT_KEYS) &&
    isUuid(raw.subscriptionId) &&
    isCount(raw.seq) &&
    isTypeName(raw.type)
  )
    return { kind, subscriptionId: raw.subscriptionId, seq: raw.seq, type: raw.type, body: raw.body };
  return ZE2EResponseSchema.safeParse(raw).data ?? null;
}

/** The companion's handshake payload (Noise message 2), authenticated by the handshake. */
export const ZCompanionHelloSchema = z.strictObject({
  kind: z.literal("hello"),
  instanceId: ZIdSchema,
  protocolVersion: z.number().int().min(1),
  companionVersion: z.string().max(64),
  role: ZRoleSchema,
  grantExpiresAt: ZEpochMsSchema,
  /**
   * The companion takes `ack`s for its push streams, and keeps this many event bytes of each
   * unacknowledged at most (STREAM_WINDOW_BYTES). Absent from companions older than flow control:
   * the browser then sends no `ack`.
   */
  streamWindowBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .optional(),
});
export type TCompanionHello = z.infer<typeof ZCompanionHelloSchema>;

const ZEmpty = z.strictObject({});

/** `ping`: round-trip check. */
export const ZPingResultSchema = z.strictObject({ receivedAt: ZEpochMsSchema });

const ZLoadSchema = z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]);
const ZMemorySchema = z.strictObject({
  totalBytes: z.number().int().min(0),
  freeBytes: z.number().int().min(0),
  rssBytes: z.number().int().min(0),
});

/** `system.info`: what the site host is. */
export const ZSystemInfoResultSchema = z.strictObject({
  hostname: z.string().max(255),
  platform: z.string().max(32),
  release: z.string().max(128),
  arch: z.string().max(32),
  nodeVersion: z.string().max(32),
  uptimeSeconds: z.number().int().min(0),
  loadAverage: ZLoadSchema,
  memory: ZMemorySchema,
  companionVersion: z.string().max(64),
});
export type TSystemInfoResult = z.infer<typeof ZSystemInfoResultSchema>;

/** `system.watch`: a live stream of `system.snapshot` events every `intervalMs`. */
export const ZSystemWatchBodySchema = z.strictObject({ intervalMs: z.number().int().min(1000).max(60_000) });
export const ZSubscriptionResultSchema = z.strictObject({ subscriptionId: ZIdSchema });
/** Body of each `system.snapshot` event. */
export const ZSystemSnapshotSchema = z.strictObject({
  at: ZEpochMsSchema,
  uptimeSeconds: z.number().int().min(0),
  loadAverage: ZLoadSchema,
  memory: ZMemorySchema,
});
export type TSystemSnapshot = z.infer<typeof ZSystemSnapshotSchema>;

/** `subscription.cancel`: ends a subscription of this session. */
export const ZSubscriptionCancelBodySchema = z.strictObject({ subscriptionId: ZIdSchema });
export const ZSubscriptionCancelResultSchema = z.strictObject({ cancelled: z.boolean() });

/** `token.rotate`: new token, keys re-wrapped, console copy replaced; returns the new enrollment line. */
export const ZTokenRotateResultSchema = z.strictObject({ enrollment: z.string().max(1024) });

/**
 * `grants.revoke` (admin): the companion refuses, from now on, every grant of `accountId` issued
 * at or before `issuedAt` (the admin browser's clock when it revokes: every grant issued until
 * then, whichever the console listed; at least the companion's own clock, so a slow browser
 * clock misses nothing issued since; not past the companion's clock + 5 min), and every grant
 * signed under that account's admin delegation if it was issued at or before that time; it
 * closes the sessions that hold one. The signer's own grant is never revoked. A re-grant is dated
 * after `revokedBefore`. Kept in the companion's state folder, so a console that keeps serving
 * the old grant gets nowhere.
 */
export const ZGrantRevokeBodySchema = z.strictObject({ accountId: ZIdSchema, issuedAt: ZEpochMsSchema });
export type TGrantRevokeBody = z.infer<typeof ZGrantRevokeBodySchema>;
export const ZGrantRevokeResultSchema = z.strictObject({
  /** Grants of the account issued at or before this time are refused. */
  revokedBefore: ZEpochMsSchema,
  closedSessions: z.number().int().min(0),
});
export type TGrantRevokeResult = z.infer<typeof ZGrantRevokeResultSchema>;
/**
 * One account's early revocation: its grants issued at or before `before` are refused. `by` is
 * whose share of the record the entry counts against: "signer" (the signer's own account), or the
 * account id of the administrator who asked (of the delegated administrator whose delegation
 * vouched for it, when it was granted under one). A plain number is an entry kept before `by` was.
 */
export const ZGrantRevocationSchema = z.union([
  ZEpochMsSchema,
  z.strictObject({ before: ZEpochMsSchema, by: z.union([ZIdSchema, z.literal("signer")]) }),
]);
export type TGrantRevocation = z.infer<typeof ZGrantRevocationSchema>;
/** The companion's revocation record (`revocations.json`): account id → its revocation. */
export const MAX_GRANT_REVOCATIONS = 10_000;
export const ZGrantRevocationsSchema = z
  .record(ZIdSchema, ZGrantRevocationSchema)
  .refine((r) => Object.keys(r).length <= MAX_GRANT_REVOCATIONS, "too many revocations");
export type TGrantRevocations = z.infer<typeof ZGrantRevocationsSchema>;

/** One entry of the request catalogue. */
export interface RequestSpec {
  /** Least role allowed to send it (viewer < auditor < operator < admin). */
  readonly minRole: TRole;
  /** Whether it changes anything on the site (viewers and auditors never may). */
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

/** Every request type the companion understands, with its body and result schema and role. */
export const REQUEST_CATALOGUE = {
  ping: { minRole: "viewer", write: false, body: ZEmpty, result: ZPingResultSchema },
  "system.info": { minRole: "viewer", write: false, body: ZEmpty, result: ZSystemInfoResultSchema },
  "system.watch": { minRole: "viewer", write: false, body: ZSystemWatchBodySchema, result: ZSubscriptionResultSchema },
  "subscription.cancel": {
    minRole: "viewer",
    write: false,
    body: ZSubscriptionCancelBodySchema,
    result: ZSubscriptionCancelResultSchema,
  },
  "token.rotate": { minRole: "admin", write: true, body: ZEmpty, result: ZTokenRotateResultSchema },
  "grants.revoke": { minRole: "admin", write: true, body: ZGrantRevokeBodySchema, result: ZGrantRevokeResultSchema },
  ...DEVICE_REQUEST_CATALOGUE,
  ...DISCOVERY_REQUEST_CATALOGUE,
  ...VAULT_REQUEST_CATALOGUE,
  ...AUDIT_REQUEST_CATALOGUE,
  ...TERMINAL_REQUEST_CATALOGUE,
} as const satisfies Record<string, RequestSpec>;
export type TRequestType = keyof typeof REQUEST_CATALOGUE;

/** Rank of each role; a request is allowed when rank(role) ≥ rank(minRole), and writes need operator or above. */
export const ROLE_RANK: Readonly<Record<TRole, number>> = { viewer: 0, auditor: 1, operator: 2, admin: 3 };

/** The one role rule, used by the companion (and by the UI to grey out buttons). */
export function roleAllows(role: TRole, spec: Pick<RequestSpec, "minRole" | "write">): boolean {
  if (spec.write && ROLE_RANK[role] < ROLE_RANK.operator) return false;
  return ROLE_RANK[role] >= ROLE_RANK[spec.minRole];
}
