/**
 * Key wrapping: a private key sealed under a WrapKey with XChaCha20-Poly1305 (random 192-bit
 * nonce: safe to pick at random for any number of wraps) inside the versioned envelope of
 * envelope.ts.
 *
 * AAD = lp("veil/v1/wrapped-key") ‖ u8 version ‖ u8 alg ‖ lp(ownerId) ‖ lp(purpose)
 *       [‖ lp("public-key") ‖ SHA-256(lp("veil/v1/wrapped-key/public-key") ‖ publicKey)]
 *
 * The bracketed part is present only when the context names the wrapped key's `publicKey`
 * (review finding 2): the console stores the public key next to the wrapped private key, and
 * with the binding it cannot pair a wrapped private key with another public key (the unwrap
 * fails). Without it the AAD is exactly the earlier one, so existing wrapped keys still open.
 * Both ends must agree: wrapping with the binding and unwrapping without it (or the reverse)
 * fails like a wrong key.
 *
 * so a wrapped key the console serves for another account or instance, or for another purpose
 * (say, the box key in place of the identity key), fails to open with the one DecryptError.
 */
import { concat, lengthPrefixed, u8 } from "./encoding";
import {
  ALG_XCHACHA20_POLY1305,
  ENVELOPE_NONCE_LENGTH,
  ENVELOPE_VERSION,
  encodeEnvelope,
  parseEnvelope,
} from "./envelope";
import { DecryptError, assertBytes, assertBytesRange, assertString, describe } from "./errors";
import type { WrapKey } from "./kdf";
import { getPrimitives } from "./primitives/index";
import { randomBytes } from "./random";

/** A key sealed by `wrapKey`: opaque bytes the console stores. */
export type WrappedKey = Uint8Array & { readonly __brand: "WrappedKey" };

/** Who a wrapped key belongs to and what it is for; both go into the AAD. */
export interface WrapContext {
  /** Account or instance id (1–128 chars of [A-Za-z0-9._:-]). */
  readonly ownerId: string;
  /** What the key is, e.g. "identity-private-key" (1–64 chars of [a-z0-9-]). */
  readonly purpose: string;
  /**
   * Optional: the wrapped private key's 32-byte public key (Ed25519 or X25519), bound into the
   * AAD through its fingerprint so the pairing of public and wrapped private key cannot be
   * swapped (review finding 2). Pass the same value to `wrapKey` and `unwrapKey`.
   */
  readonly publicKey?: Uint8Array;
}

/** Purposes used by Veil itself. Others are allowed if they match the pattern. */
export const WRAP_PURPOSES: Readonly<{
  identityPrivateKey: "identity-private-key";
  boxPrivateKey: "box-private-key";
  vaultPrivateKey: "vault-private-key";
}> = Object.freeze({
  identityPrivateKey: "identity-private-key",
  boxPrivateKey: "box-private-key",
  vaultPrivateKey: "vault-private-key",
});

const WRAP_LABEL = "veil/v1/wrapped-key";
const PUBLIC_KEY_LABEL = "veil/v1/wrapped-key/public-key";
const OWNER_PATTERN = /^[A-Za-z0-9._:-]+$/;
const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const MAX_KEY_LENGTH = 1024;

function checkContext(context: WrapContext): void {
  if (typeof context !== "object" || context === null)
    throw new TypeError(`context must be an object, got ${describe(context)}`);
  assertString(context.ownerId, "context.ownerId", 1, 128, OWNER_PATTERN);
  assertString(context.purpose, "context.purpose", 1, 64, PURPOSE_PATTERN);
  if (context.publicKey !== undefined) assertBytes(context.publicKey, "context.publicKey", 32);
}

function wrapAad(version: number, alg: number, context: WrapContext): Uint8Array {
  const base = concat(
    lengthPrefixed(WRAP_LABEL),
    u8(version),
    u8(alg),
    lengthPrefixed(context.ownerId),
    lengthPrefixed(context.purpose),
  );
  if (context.publicKey === undefined) return base;
  const fp = getPrimitives().sha256(concat(lengthPrefixed(PUBLIC_KEY_LABEL), context.publicKey));
  return concat(base, lengthPrefixed("public-key"), fp);
}

/**
 * Seals `key` (1–1024 bytes) under `wrapKey`, bound to `context` (owner, purpose and, if given,
 * the key's public key: review finding 2).
 */
export function wrapKey(wrapKey: WrapKey, key: Uint8Array, context: WrapContext): WrappedKey {
  assertBytes(wrapKey, "wrapKey", 32);
  assertBytesRange(key, "key", 1, MAX_KEY_LENGTH);
  checkContext(context);
  const nonce = randomBytes(ENVELOPE_NONCE_LENGTH);
  const sealed = getPrimitives().xchacha20poly1305Seal(
    wrapKey,
    nonce,
    key,
    wrapAad(ENVELOPE_VERSION, ALG_XCHACHA20_POLY1305, context),
  );
  return encodeEnvelope(nonce, sealed) as WrappedKey;
}

/**
 * Opens a wrapped key. Any failure (wrong WrapKey, other owner, purpose or bound public key, tampered or
 * truncated bytes, unknown version) throws the one DecryptError. Wipe the result after use.
 */
export function unwrapKey(wrapKey: WrapKey, wrapped: Uint8Array, context: WrapContext): Uint8Array {
  assertBytes(wrapKey, "wrapKey", 32);
  assertBytes(wrapped, "wrapped");
  checkContext(context);
  const env = parseEnvelope(wrapped);
  try {
    return getPrimitives().xchacha20poly1305Open(
      wrapKey,
      env.nonce,
      env.sealed,
      wrapAad(env.version, env.alg, context),
    );
  } catch {
    throw new DecryptError();
  }
}

/**
 * Brands bytes received from storage as a WrappedKey after checking their shape (version, alg,
 * length); throws DecryptError if they cannot be a v1 envelope.
 */
export function wrappedKey(bytes: Uint8Array): WrappedKey {
  parseEnvelope(bytes);
  return Uint8Array.from(bytes) as WrappedKey;
}
