import { z } from "zod";

/** Largest base64url string accepted in any field (128 KiB of encoded data). */
export const MAX_B64_LENGTH = 131_072;

/** Unpadded base64url characters (what zB64u checks). */
export const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** How many characters unpadded base64url takes for `bytes` bytes. */
export const b64uChars = (bytes: number): number => Math.ceil((bytes * 4) / 3);

/**
 * Unpadded base64url text (RFC 4648 §5) with a length cap. `bytes` pins the exact decoded
 * length for fixed-size keys, hashes and nonces.
 */
export function zB64u(options: { bytes?: number; maxBytes?: number } = {}): z.ZodString {
  let schema = z.string().regex(BASE64URL, "must be unpadded base64url");
  if (options.bytes !== undefined) {
    const len = b64uChars(options.bytes);
    schema = schema.length(len, `must encode exactly ${options.bytes} bytes`);
  } else {
    const max = options.maxBytes === undefined ? MAX_B64_LENGTH : b64uChars(options.maxBytes);
    schema = schema.max(max, "is too long");
  }
  return schema;
}

/** A 32-byte public key (Ed25519 or X25519) as base64url. */
export const ZPublicKeySchema = zB64u({ bytes: 32 });
/** A 64-byte Ed25519 signature as base64url. */
export const ZSignatureSchema = zB64u({ bytes: 64 });
/** A 256-bit secret (session token, auth key) as base64url. */
export const ZSecret256Schema = zB64u({ bytes: 32 });
/**
 * The pattern ZIdSchema checks (for the hand-written checks that stand in front of schemas): zod's
 * UUID, lower-case only. PostgreSQL compares uuids without regard to case, but the console's maps
 * (live companion sockets, budgets, sessions) compare strings: one id must have one spelling, or
 * an upper-cased id would slip past what is keyed by the lower-case one (a revocation, a cap).
 */
export const UUID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
/** Identifiers are UUIDs (`crypto.randomUUID()`, PostgreSQL's output), written in lower case. */
export const ZIdSchema = z.uuid().regex(UUID, "expected a lower-case UUID");
/** E-mail addresses: trimmed, lower-cased, RFC 5321 length limit. */
export const ZEmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((s) => s.toLowerCase());

/** Account roles, least to most privileged in what they may change. */
export const ZRoleSchema = z.enum(["viewer", "auditor", "operator", "admin"]);
export type TRole = z.infer<typeof ZRoleSchema>;

/**
 * Argon2id parameters as stored per account and served at pre-login. The schema bounds
 * shape only; the browser additionally enforces the floor and ceiling of @veil/crypto
 * before deriving anything.
 */
export const ZKdfParamsSchema = z.object({
  alg: z.literal("argon2id"),
  memoryKiB: z.number().int().positive().max(4_194_304),
  iterations: z.number().int().positive().max(100),
  parallelism: z.number().int().positive().max(16),
  salt: zB64u({ bytes: 16 }),
});
export type TKdfParams = z.infer<typeof ZKdfParamsSchema>;
