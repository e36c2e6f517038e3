/**
 * Ed25519 signing and the ONE verification rule used everywhere in Veil.
 *
 * Rule (applied before the primitive's own verify, so every implementation sees only inputs on
 * which they agree):
 *  1. The public key A and the signature's R are canonical encodings (RFC 8032 §5.1.3):
 *     y < p = 2^255 − 19, and not (x = 0 with the sign bit set).
 *  2. Neither A nor R is a point of small order (one of the 8 torsion points): a small-order A
 *     would let one signature verify for many messages (RFC 8032 does not require this check;
 *     we add it for strong binding / non-repudiation, as libsodium does).
 *  3. S < L (RFC 8032 §5.1.7 step 1), which rules out signature malleability.
 *  4. The group equation [S]B = R + [k]A (cofactorless; RFC 8032 §5.1.7 allows it), checked by
 *     the primitive: node:crypto (OpenSSL) and `noblePrimitives` both check exactly this one.
 */
import { ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js";
import { fromHex } from "./encoding";
import { assertBytes } from "./errors";
import { getPrimitives } from "./primitives/index";
import type { Primitives } from "./primitives/types";

/** Group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1). */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** Canonical encodings of the 8 small-order points, plus the two x = 0 encodings with x_0 = 1. */
const SMALL_ORDER: readonly Uint8Array[] = [
  ...ED25519_TORSION_SUBGROUP.map((h) => fromHex(h)),
  fromHex("0100000000000000000000000000000000000000000000000000000000000080"),
  fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
];

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

/** True if the 32-byte encoding has y < p (RFC 8032 §5.1.3 step 1). */
export function isCanonicalY(encoded: Uint8Array): boolean {
  // y ≥ p exactly when the low 255 bits are in [2^255 − 19, 2^255 − 1]:
  // byte 0 ≥ 0xed, bytes 1..30 = 0xff, byte 31 & 0x7f = 0x7f.
  if (((encoded[31] ?? 0) & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (encoded[i] !== 0xff) return true;
  return (encoded[0] ?? 0) < 0xed;
}

/** True if `encoded` is one of the small-order points' encodings (or x = 0 with x_0 = 1). */
export function isSmallOrderEncoding(encoded: Uint8Array): boolean {
  let hit = false;
  for (const s of SMALL_ORDER) hit = equalBytes(s, encoded) || hit;
  return hit;
}

/** True if the point encoding passes rule 1 and rule 2 above. */
export function isAcceptablePoint(encoded: Uint8Array): boolean {
  assertBytes(encoded, "encoded");
  return encoded.length === 32 && isCanonicalY(encoded) && !isSmallOrderEncoding(encoded);
}

function scalarLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/**
 * Verifies an Ed25519 signature under Veil's single rule (module doc). Returns false for any
 * signature that fails, including a malformed one; throws only for wrong argument types or a
 * public key that is not 32 bytes (a caller bug).
 */
export function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  primitives: Primitives = getPrimitives(),
): boolean {
  assertBytes(publicKey, "publicKey", 32);
  assertBytes(message, "message");
  assertBytes(signature, "signature");
  if (signature.length !== 64) return false;
  if (!isAcceptablePoint(publicKey)) return false;
  const r = signature.subarray(0, 32);
  if (!isAcceptablePoint(r)) return false;
  if (scalarLE(signature.subarray(32, 64)) >= L) return false;
  return primitives.ed25519Verify(signature, message, publicKey);
}

/** Ed25519 signature (RFC 8032 §5.1.6) of `message` with a 32-byte seed. Deterministic. */
export function signEd25519(
  seed: Uint8Array,
  message: Uint8Array,
  primitives: Primitives = getPrimitives(),
): Uint8Array {
  assertBytes(seed, "seed", 32);
  assertBytes(message, "message");
  return primitives.ed25519Sign(seed, message);
}
