import { z } from "zod";
import { ZKdfParamsSchema, ZSecret256Schema, zB64u } from "../fields";
import { ZInstanceCertificateSchema } from "./statements";

/**
 * HTTP bodies between the companion and the console (docs/PROTOCOL-COMPANION.md, "HTTP").
 * All paths live under /api/companion/v1/instances/{instanceId}/; the auth key always travels
 * in a JSON body over the pinned TLS connection, never in a URL or header a proxy logs.
 */
export const COMPANION_API_PREFIX = "/api/companion/v1";

/** Largest wrapped private key (a v1 envelope around 32 bytes is 74 bytes; room for growth). */
const ZWrappedKeySchema = zB64u({ maxBytes: 1024 });

/** GET …/kdf → the instance token's Argon2id parameters and salt (the companion enforces the floor). */
export const ZInstanceKdfResponseSchema = z.strictObject({ kdf: ZKdfParamsSchema });
export type TInstanceKdfResponse = z.infer<typeof ZInstanceKdfResponseSchema>;

/** POST …/enroll request: proves the token by its auth key. */
export const ZEnrollRequestSchema = z.strictObject({
  authKey: ZSecret256Schema,
  protocolVersion: z.number().int().min(1),
  companionVersion: z.string().max(64),
});
export type TEnrollRequest = z.infer<typeof ZEnrollRequestSchema>;

/** POST …/enroll response: the token-wrapped private keys and the instance certificate. */
export const ZEnrollResponseSchema = z.strictObject({
  wrappedIdentityPrivateKey: ZWrappedKeySchema,
  wrappedBoxPrivateKey: ZWrappedKeySchema,
  certificate: ZInstanceCertificateSchema,
});
export type TEnrollResponse = z.infer<typeof ZEnrollResponseSchema>;

/**
 * POST …/rotate request: the companion made a new token, re-wrapped its private keys under it
 * and asks the console to replace, atomically, the KDF params, auth-key hash and wrapped keys.
 * Authenticated by the CURRENT auth key; the new auth key is sent only as its hash.
 */
export const ZRotateRequestSchema = z.strictObject({
  authKey: ZSecret256Schema,
  next: z.strictObject({
    kdf: ZKdfParamsSchema,
    authKeyHash: zB64u({ bytes: 32 }),
    wrappedIdentityPrivateKey: ZWrappedKeySchema,
    wrappedBoxPrivateKey: ZWrappedKeySchema,
  }),
});
export type TRotateRequest = z.infer<typeof ZRotateRequestSchema>;

/** POST …/rotate response. */
export const ZRotateResponseSchema = z.strictObject({ ok: z.literal(true) });
export type TRotateResponse = z.infer<typeof ZRotateResponseSchema>;
