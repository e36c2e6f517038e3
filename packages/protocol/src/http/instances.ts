import { z } from "zod";
import { ZIdSchema, ZKdfParamsSchema, ZPublicKeySchema, ZRoleSchema, ZSecret256Schema, zB64u } from "../fields";
import {
  ZEpochMsSchema,
  ZGrantBundleSchema,
  ZInstanceCertificateSchema,
  ZSignedStatementSchema,
} from "../companion/statements";
import { ZTimestampSchema } from "./common";

/**
 * Browser-facing instance API (docs/PROTOCOL-COMPANION.md §1). The admin's browser makes the
 * keys, the token and the certificate; the console stores what these bodies carry and never
 * sees the token, the wrap key or a private key. Every key below is public or wrapped.
 */

/** A token-wrapped private key (the v1 envelope around 32 bytes is 74 bytes; room for growth). */
const ZWrappedKeySchema = zB64u({ maxBytes: 1024 });

/** POST /api/instances (admin) */
export const ZInstanceCreateRequestSchema = z.strictObject({
  /** Chosen by the browser: it is bound into the certificate, the KDF salt and the wrap AAD. */
  instanceId: ZIdSchema,
  name: z.string().trim().min(1).max(200),
  kdf: ZKdfParamsSchema,
  /** The token's auth key; hashed on arrival, never stored as is. */
  authKey: ZSecret256Schema,
  identityPublicKey: ZPublicKeySchema,
  boxPublicKey: ZPublicKeySchema,
  wrappedIdentityPrivateKey: ZWrappedKeySchema,
  wrappedBoxPrivateKey: ZWrappedKeySchema,
  /** Signed by the admin's identity key: `signerPublicKey` must be the caller's identity key. */
  certificate: ZInstanceCertificateSchema,
});
export type TInstanceCreateRequest = z.infer<typeof ZInstanceCreateRequestSchema>;

/** Presence as the console tracks it (what the console may know). */
export const ZInstancePresenceSchema = z.object({
  online: z.boolean(),
  lastSeenAt: ZTimestampSchema.nullable(),
  companionVersion: z.string().nullable(),
  address: z.string().nullable(),
});
export type TInstancePresence = z.infer<typeof ZInstancePresenceSchema>;

/** One instance as listed: public material only (browsers verify the certificate themselves). */
export const ZInstanceSummarySchema = z.object({
  id: ZIdSchema,
  name: z.string(),
  adminUserId: ZIdSchema.nullable(),
  identityPublicKey: ZPublicKeySchema,
  boxPublicKey: ZPublicKeySchema,
  certificate: ZInstanceCertificateSchema,
  createdAt: ZTimestampSchema,
  enrolledAt: ZTimestampSchema.nullable(),
  rotatedAt: ZTimestampSchema.nullable(),
  revokedAt: ZTimestampSchema.nullable(),
  presence: ZInstancePresenceSchema,
  /** The caller's role on this instance from its grant (admins of the console: "admin"). */
  myRole: ZRoleSchema.nullable(),
});
export type TInstanceSummary = z.infer<typeof ZInstanceSummarySchema>;

/** GET /api/instances */
export const ZInstanceListResponseSchema = z.object({ instances: z.array(ZInstanceSummarySchema) });
export type TInstanceListResponse = z.infer<typeof ZInstanceListResponseSchema>;

/** GET /api/instances/:id */
export const ZInstanceResponseSchema = z.object({ instance: ZInstanceSummarySchema });
export type TInstanceResponse = z.infer<typeof ZInstanceResponseSchema>;

/**
 * POST /api/instances/:id/grants (admin). The bundle is what the browser later presents to the
 * companion; the console keeps it opaque but checks the copies (account, role, expiry) match
 * the signed body, so its listing cannot disagree with what the companion will enforce.
 */
export const ZGrantCreateRequestSchema = z.strictObject({
  accountId: ZIdSchema,
  role: ZRoleSchema,
  expiresAt: ZEpochMsSchema,
  bundle: ZGrantBundleSchema,
  /**
   * Admin grants only: the signer's delegation (ZAdminDelegationBodySchema, ADMIN_DELEGATION_DOMAIN)
   * letting this admin's key sign grants for the instance. Stored opaque and served back to that
   * admin, whose browser checks it against the instance certificate before using it.
   */
  delegation: ZSignedStatementSchema.optional(),
});
export type TGrantCreateRequest = z.infer<typeof ZGrantCreateRequestSchema>;

/**
 * POST /api/instances/:id/grants/revoke (admin): drops the account's grant from the console's
 * list. The admin's browser first sends `grants.revoke` to the companion end to end, which is
 * what actually ends the grant; this only stops the console from serving it.
 */
export const ZGrantRevokeRequestSchema = z.strictObject({ accountId: ZIdSchema });
export type TGrantRevokeRequest = z.infer<typeof ZGrantRevokeRequestSchema>;

/** One grant as listed. */
export const ZGrantSummarySchema = z.object({
  id: ZIdSchema,
  instanceId: ZIdSchema,
  accountId: ZIdSchema,
  role: ZRoleSchema,
  expiresAt: ZTimestampSchema,
  createdAt: ZTimestampSchema,
  createdBy: ZIdSchema.nullable(),
  bundle: ZGrantBundleSchema,
  /** The admin delegation stored with this grant, if any (see ZGrantCreateRequestSchema). */
  delegation: ZSignedStatementSchema.nullable(),
});
export type TGrantSummary = z.infer<typeof ZGrantSummarySchema>;

/** GET /api/instances/:id/grants (admin: all; others: their own) */
export const ZGrantListResponseSchema = z.object({ grants: z.array(ZGrantSummarySchema) });
export type TGrantListResponse = z.infer<typeof ZGrantListResponseSchema>;

/**
 * GET /api/companion-info (admin): what the browser needs to build the enrollment line. The pin
 * is the SHA-256 of the certificate's SubjectPublicKeyInfo in curl's `sha256//<base64>` form.
 */
export const ZCompanionInfoResponseSchema = z.object({
  consoleUrl: z.url(),
  consolePin: z.string().regex(/^sha256\/\/[A-Za-z0-9+/]{43}=$/),
  installScriptPath: z.literal("/install.sh"),
});
export type TCompanionInfoResponse = z.infer<typeof ZCompanionInfoResponseSchema>;
