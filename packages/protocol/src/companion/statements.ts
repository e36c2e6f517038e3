import { z } from "zod";
import { zB64u, ZIdSchema, ZPublicKeySchema, ZRoleSchema, ZSignatureSchema } from "../fields";

/**
 * Signed statements as they travel (the shape of @veil/crypto's `SignedStatement`): a domain
 * label, a canonical-JSON body and an Ed25519 signature. The schemas here bound the shape; the
 * companion verifies the signature with @veil/crypto `verifyStatement` and THEN parses the body
 * with the body schema below, so nothing unsigned is ever trusted.
 */
export const ZSignedStatementSchema = z.strictObject({
  domain: z.string().regex(/^[a-z0-9][a-z0-9./-]{0,127}$/),
  body: z.unknown(),
  signature: ZSignatureSchema,
});
export type TSignedStatement = z.infer<typeof ZSignedStatementSchema>;

/** Signature domain of instance certificates. */
export const INSTANCE_CERTIFICATE_DOMAIN = "veil/v1/instance-certificate";
/** Signature domain of grants. */
export const GRANT_DOMAIN = "veil/v1/grant";
/** Signature domain of admin delegations (the pinned signer vouching for another admin key). */
export const ADMIN_DELEGATION_DOMAIN = "veil/v1/admin-delegation";

/** Milliseconds since the Unix epoch, as a safe integer (canonical JSON has no floats). */
export const ZEpochMsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Body of an instance certificate, signed by the admin's identity key when the instance is
 * added. The companion checks it against the pinned signer fingerprint and against the key
 * pairs it unwrapped, so a console that swaps the instance's public keys is caught.
 */
export const ZInstanceCertificateBodySchema = z.strictObject({
  instanceId: ZIdSchema,
  name: z.string().min(1).max(200),
  /** Instance Ed25519 identity public key. */
  identityPublicKey: ZPublicKeySchema,
  /** Instance X25519 static key: the Noise responder key browsers connect to. */
  boxPublicKey: ZPublicKeySchema,
  issuedAt: ZEpochMsSchema,
});
export type TInstanceCertificateBody = z.infer<typeof ZInstanceCertificateBodySchema>;

/** An instance certificate with the signer's public key, which must hash to the pinned fingerprint. */
export const ZInstanceCertificateSchema = z.strictObject({
  statement: ZSignedStatementSchema,
  signerPublicKey: ZPublicKeySchema,
});
export type TInstanceCertificate = z.infer<typeof ZInstanceCertificateSchema>;

/**
 * The longest a grant or an admin delegation may last from its issue time (the grant form offers
 * up to 365 days). A bound lets the companion forget a revocation once every grant it could
 * reach has expired, so its record does not grow for ever.
 */
export const MAX_GRANT_LIFETIME_MS = 400 * 24 * 3600_000;

const withinLifetime = (b: { issuedAt: number; expiresAt: number }): boolean =>
  b.expiresAt - b.issuedAt <= MAX_GRANT_LIFETIME_MS;

/**
 * Body of a grant: which account (its identity and certified box key) may act on which
 * instance, in which role, until when. Signed by the pinned signer or by a delegated admin.
 */
export const ZGrantBodySchema = z
  .strictObject({
    grantId: ZIdSchema,
    instanceId: ZIdSchema,
    accountId: ZIdSchema,
    /** Account Ed25519 identity public key. */
    identityPublicKey: ZPublicKeySchema,
    /** Account X25519 box key: the Noise initiator static key. */
    boxPublicKey: ZPublicKeySchema,
    role: ZRoleSchema,
    issuedAt: ZEpochMsSchema,
    expiresAt: ZEpochMsSchema,
  })
  .refine(withinLifetime, "A grant lasts at most 400 days.");
export type TGrantBody = z.infer<typeof ZGrantBodySchema>;

/**
 * Body of an admin delegation: the pinned signer lets another admin's identity key sign grants
 * for this instance until `expiresAt`. One level only: a delegated admin cannot delegate.
 */
export const ZAdminDelegationBodySchema = z
  .strictObject({
    instanceId: ZIdSchema,
    adminAccountId: ZIdSchema,
    adminIdentityPublicKey: ZPublicKeySchema,
    issuedAt: ZEpochMsSchema,
    expiresAt: ZEpochMsSchema,
  })
  .refine(withinLifetime, "A delegation lasts at most 400 days.");
export type TAdminDelegationBody = z.infer<typeof ZAdminDelegationBodySchema>;

/**
 * What a browser presents (in clear, inside the session-open frame) to open a session: its
 * grant, the public key that signed it, the delegation when that key is not the pinned signer,
 * and the account's certificate of its box key.
 */
export const ZGrantBundleSchema = z.strictObject({
  grant: ZSignedStatementSchema,
  signerPublicKey: ZPublicKeySchema,
  delegation: ZSignedStatementSchema.optional(),
  /**
   * The account's own certificate of its box key (@veil/crypto `certifyBoxKey`, ownerKind
   * "account", ownerId = accountId, purpose "box" or "session"), signed by the identity key the
   * grant names: a console that slipped its own box key into a grant an admin signed is caught.
   */
  boxKeyCertificate: ZSignedStatementSchema,
});
export type TGrantBundle = z.infer<typeof ZGrantBundleSchema>;

/** Largest grant bundle in UTF-8 bytes. */
export const MAX_GRANT_BUNDLE_BYTES = 8192;

/** A 32-byte SHA-256 value, base64url. */
export const ZSha256B64uSchema = zB64u({ bytes: 32 });
