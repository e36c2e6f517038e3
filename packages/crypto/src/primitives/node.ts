/**
 * `nodePrimitives`: the same operations on node:crypto (OpenSSL), 2×–60× faster than pure JS
 * (docs/CRYPTO.md). Used by the console and the companion via `@veil/crypto/node`.
 *
 * Raw keys become KeyObjects through JWK (RFC 8037 OKP keys), with fixed DER prefixes
 * (PKCS#8 / SPKI, RFC 8410 §7 / §10) as the fallback. XChaCha20-Poly1305 is built exactly as
 * draft-irtf-cfrg-xchacha-03 §2.3 prescribes: an HChaCha20 subkey (from @noble/ciphers, which
 * OpenSSL lacks) and the native ChaCha20-Poly1305 with nonce 0x00000000 ‖ nonce[16..24].
 */
import { hchacha } from "@noble/ciphers/chacha.js";
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import type { Primitives } from "./types";

const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");

type Curve = "X25519" | "Ed25519";

function need(bytes: Uint8Array, length: number, field: string): void {
  if (bytes.length !== length) throw new RangeError(`${field} must be ${length} bytes, got ${bytes.length}`);
}

const b64url = (raw: Uint8Array): string => Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("base64url");

/**
 * Raw private key to KeyObject. JWK import is ~10× cheaper than PKCS#8 DER in Node 20
 * (docs/PERFORMANCE.md). Node derives the public half from `d` and ignores `x`, which it
 * nonetheless requires to be a string; if a future Node refuses the empty `x`, fall back to
 * DER. The known-answer suites catch any divergence.
 */
function privateKey(curve: Curve, raw: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: "OKP", crv: curve, d: b64url(raw), x: "" }, format: "jwk" });
  } catch {
    const der = Buffer.concat([curve === "X25519" ? X25519_PKCS8 : ED25519_PKCS8, raw]);
    try {
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    } finally {
      der.fill(0);
    }
  }
}

/** Raw public key to KeyObject (JWK, falling back to SPKI DER). */
function publicKey(curve: Curve, raw: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: { kty: "OKP", crv: curve, x: b64url(raw) }, format: "jwk" });
  } catch {
    return createPublicKey({
      key: Buffer.concat([curve === "X25519" ? X25519_SPKI : ED25519_SPKI, raw]),
      format: "der",
      type: "spki",
    });
  }
}

function rawPublic(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(der.length - 32));
}

function toU8(b: Buffer | ArrayBuffer): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function aeadSeal(alg: string, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv(alg as "chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const out = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return toU8(out);
}

function aeadOpen(alg: string, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < 16) throw new Error("ciphertext too short");
  const body = sealed.subarray(0, sealed.length - 16);
  const decipher = createDecipheriv(alg as "chacha20-poly1305", key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  decipher.setAAD(aad, { plaintextLength: body.length });
  const out = decipher.update(body);
  try {
    decipher.final(); // constant-time tag check inside OpenSSL; throws on mismatch
  } catch (e) {
    out.fill(0);
    throw e;
  }
  return toU8(out);
}

// "expand 32-byte k" as little-endian words (RFC 8439 §2.3); Node runs on little-endian hosts.
const SIGMA = new Uint32Array(new Uint8Array([...new TextEncoder().encode("expand 32-byte k")]).buffer);

/** HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2) via @noble/ciphers' exported core. */
function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const k = new Uint32Array(Uint8Array.from(key).buffer);
  const n = new Uint32Array(Uint8Array.from(nonce16).buffer);
  const out = new Uint32Array(8);
  hchacha(SIGMA, k, n, out);
  k.fill(0);
  const subkey = new Uint8Array(out.buffer);
  return subkey;
}

function xchachaParams(key: Uint8Array, nonce: Uint8Array): [Uint8Array, Uint8Array] {
  need(key, 32, "key");
  need(nonce, 24, "nonce");
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  const nonce12 = new Uint8Array(12);
  nonce12.set(nonce.subarray(16, 24), 4);
  return [subkey, nonce12];
}

function aesAlg(key: Uint8Array, nonce: Uint8Array): string {
  if (key.length !== 16 && key.length !== 32) throw new RangeError("AES-GCM key must be 16 or 32 bytes");
  need(nonce, 12, "nonce");
  return key.length === 16 ? "aes-128-gcm" : "aes-256-gcm";
}

/** node:crypto (OpenSSL) primitives; byte-identical to `noblePrimitives`. Node only. */
export const nodePrimitives: Primitives = Object.freeze({
  name: "node",
  sha256: (data: Uint8Array): Uint8Array => toU8(createHash("sha256").update(data).digest()),
  hmacSha256: (key: Uint8Array, data: Uint8Array): Uint8Array => toU8(createHmac("sha256", key).update(data).digest()),
  hkdfSha256: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array => {
    if (!Number.isSafeInteger(length) || length < 1 || length > 255 * 32)
      throw new RangeError("HKDF length out of range");
    return toU8(hkdfSync("sha256", ikm, salt, info, length));
  },
  x25519PublicKey: (secretKey: Uint8Array): Uint8Array => {
    need(secretKey, 32, "secretKey");
    return rawPublic(createPublicKey(privateKey("X25519", secretKey)));
  },
  x25519: (secretKey: Uint8Array, peer: Uint8Array): Uint8Array => {
    need(secretKey, 32, "secretKey");
    need(peer, 32, "publicKey");
    const priv = privateKey("X25519", secretKey);
    const pub = publicKey("X25519", peer);
    try {
      return toU8(diffieHellman({ privateKey: priv, publicKey: pub }));
    } catch {
      // OpenSSL refuses an all-zero result (low-order peer key, RFC 7748 §6.1); report the raw
      // all-zero output like the noble path so callers apply one check.
      return new Uint8Array(32);
    }
  },
  ed25519PublicKey: (seed: Uint8Array): Uint8Array => {
    need(seed, 32, "seed");
    return rawPublic(createPublicKey(privateKey("Ed25519", seed)));
  },
  ed25519Sign: (seed: Uint8Array, message: Uint8Array): Uint8Array => {
    need(seed, 32, "seed");
    return toU8(nodeSign(null, message, privateKey("Ed25519", seed)));
  },
  ed25519Verify: (signature: Uint8Array, message: Uint8Array, pub: Uint8Array): boolean => {
    try {
      if (signature.length !== 64 || pub.length !== 32) return false;
      return nodeVerify(null, message, publicKey("Ed25519", pub), signature);
    } catch {
      return false;
    }
  },
  chacha20poly1305Seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array => {
    need(key, 32, "key");
    need(nonce, 12, "nonce");
    return aeadSeal("chacha20-poly1305", key, nonce, plaintext, aad);
  },
  chacha20poly1305Open: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array => {
    need(key, 32, "key");
    need(nonce, 12, "nonce");
    return aeadOpen("chacha20-poly1305", key, nonce, sealed, aad);
  },
  xchacha20poly1305Seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array => {
    const [subkey, nonce12] = xchachaParams(key, nonce);
    try {
      return aeadSeal("chacha20-poly1305", subkey, nonce12, plaintext, aad);
    } finally {
      subkey.fill(0);
    }
  },
  xchacha20poly1305Open: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array => {
    const [subkey, nonce12] = xchachaParams(key, nonce);
    try {
      return aeadOpen("chacha20-poly1305", subkey, nonce12, sealed, aad);
    } finally {
      subkey.fill(0);
    }
  },
  aesGcmSeal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array =>
    aeadSeal(aesAlg(key, nonce), key, nonce, plaintext, aad),
  aesGcmOpen: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array =>
    aeadOpen(aesAlg(key, nonce), key, nonce, sealed, aad),
});
