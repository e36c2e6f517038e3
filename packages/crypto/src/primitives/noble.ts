/**
 * `noblePrimitives`: the portable, pure-JS reference implementation on @noble/* (audited,
 * constant-time where it matters). Runs in browsers, workers and Node alike.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import type { Primitives } from "./types";

const Point = ed25519.Point;
const L = Point.CURVE().n;

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/**
 * RFC 8032 §5.1.7 verification with the cofactorless equation [S]B = R + [k]A', the equation
 * OpenSSL (and so node:crypto) checks. RFC 8032 allows either; using the same one on both
 * paths makes noble and node agree even on crafted mixed-order keys. Canonical decoding
 * (y < p) of A and R and S < L are enforced here too; small-order rejection is the caller's.
 */
function ed25519VerifyCofactorless(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    const rBytes = signature.subarray(0, 32);
    const s = bytesToNumberLE(signature.subarray(32, 64));
    if (s >= L) return false;
    const A = Point.fromBytes(publicKey, false);
    const R = Point.fromBytes(rBytes, false);
    const k = bytesToNumberLE(sha512.create().update(rBytes).update(publicKey).update(message).digest()) % L;
    const sB = Point.BASE.multiplyUnsafe(s);
    const rkA = R.add(A.multiplyUnsafe(k));
    return sB.equals(rkA);
  } catch {
    return false;
  }
}

/** Pure-JS primitives on @noble/ciphers, @noble/curves and @noble/hashes. */
export const noblePrimitives: Primitives = Object.freeze({
  name: "noble",
  sha256: (data: Uint8Array): Uint8Array => sha256(data),
  hmacSha256: (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(sha256, key, data),
  hkdfSha256: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array => {
    // Same bounds as the node path (RFC 5869 §2.3: L ≤ 255·HashLen; L = 0 is refused on both).
    if (!Number.isSafeInteger(length) || length < 1 || length > 255 * 32)
      throw new RangeError("HKDF length out of range");
    return hkdf(sha256, ikm, salt, info, length);
  },
  x25519PublicKey: (secretKey: Uint8Array): Uint8Array => x25519.getPublicKey(secretKey),
  x25519: (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array => {
    if (secretKey.length !== 32 || publicKey.length !== 32) throw new RangeError("x25519 keys must be 32 bytes");
    try {
      return x25519.scalarMult(secretKey, publicKey);
    } catch {
      // noble refuses low-order peer keys before running the ladder; the RFC 7748 output for
      // those is the all-zero string, which is what the other path returns too.
      return new Uint8Array(32);
    }
  },
  ed25519PublicKey: (seed: Uint8Array): Uint8Array => ed25519.getPublicKey(seed),
  ed25519Sign: (seed: Uint8Array, message: Uint8Array): Uint8Array => ed25519.sign(message, seed),
  ed25519Verify: ed25519VerifyCofactorless,
  chacha20poly1305Seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array =>
    chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  chacha20poly1305Open: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array =>
    chacha20poly1305(key, nonce, aad).decrypt(sealed),
  xchacha20poly1305Seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array =>
    xchacha20poly1305(key, nonce, aad).encrypt(plaintext),
  xchacha20poly1305Open: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array =>
    xchacha20poly1305(key, nonce, aad).decrypt(sealed),
  aesGcmSeal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array => {
    if (key.length !== 16 && key.length !== 32) throw new RangeError("AES-GCM key must be 16 or 32 bytes");
    if (nonce.length !== 12) throw new RangeError("AES-GCM nonce must be 12 bytes");
    return gcm(key, nonce, aad).encrypt(plaintext);
  },
  aesGcmOpen: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array => {
    if (key.length !== 16 && key.length !== 32) throw new RangeError("AES-GCM key must be 16 or 32 bytes");
    if (nonce.length !== 12) throw new RangeError("AES-GCM nonce must be 12 bytes");
    return gcm(key, nonce, aad).decrypt(sealed);
  },
});
