/**
 * The primitive operations every higher-level construction in this package is built from.
 *
 * Two implementations exist: `noblePrimitives` (pure JS, @noble/*: the portable reference,
 * used in browsers) and `nodePrimitives` (node:crypto, exported from `@veil/crypto/node`,
 * used by the console and the companion where speed matters). Both must produce
 * byte-identical results; the test suite runs every known-answer and Wycheproof vector
 * against each.
 *
 * Implementations do raw operations only. Input validation, the single Ed25519 verification
 * rule (RFC 8032 §5.1.7 plus small-order rejection) and opaque error handling live in the
 * modules that call these.
 */
export interface Primitives {
  /** Short name for diagnostics and test titles. */
  readonly name: string;
  /** SHA-256 (FIPS 180-4). */
  readonly sha256: (data: Uint8Array) => Uint8Array;
  /** HMAC-SHA256 (RFC 2104). */
  readonly hmacSha256: (key: Uint8Array, data: Uint8Array) => Uint8Array;
  /** HKDF-SHA256 extract-then-expand (RFC 5869). `length` ≤ 255·32. */
  readonly hkdfSha256: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array;
  /** X25519 base-point multiplication (RFC 7748 §6.1): secret key (32 bytes) to public key. */
  readonly x25519PublicKey: (secretKey: Uint8Array) => Uint8Array;
  /**
   * X25519 shared secret (RFC 7748 §5). Returns the raw 32-byte output, which is all zero for
   * low-order peer keys (both implementations return the zeros rather than throwing): callers
   * must reject that (RFC 7748 §6.1), e.g. via `x25519SharedSecret` in keys.ts.
   */
  readonly x25519: (secretKey: Uint8Array, publicKey: Uint8Array) => Uint8Array;
  /** Ed25519 public key from a 32-byte seed (RFC 8032 §5.1.5). */
  readonly ed25519PublicKey: (seed: Uint8Array) => Uint8Array;
  /** Ed25519 signature (RFC 8032 §5.1.6), 64 bytes. */
  readonly ed25519Sign: (seed: Uint8Array, message: Uint8Array) => Uint8Array;
  /** Raw Ed25519 verification; callers apply the strict rule first. Never throws. */
  readonly ed25519Verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
  /** ChaCha20-Poly1305 (RFC 8439 §2.8): ciphertext ‖ 16-byte tag. */
  readonly chacha20poly1305Seal: (
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ) => Uint8Array;
  /** Inverse of `chacha20poly1305Seal`; throws on a bad tag (constant-time check). */
  readonly chacha20poly1305Open: (
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ) => Uint8Array;
  /** XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03), 24-byte nonce. */
  readonly xchacha20poly1305Seal: (
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ) => Uint8Array;
  /** Inverse of `xchacha20poly1305Seal`; throws on a bad tag. */
  readonly xchacha20poly1305Open: (
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ) => Uint8Array;
  /** AES-GCM (NIST SP 800-38D) with a 16- or 32-byte key and 12-byte nonce. */
  readonly aesGcmSeal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => Uint8Array;
  /** Inverse of `aesGcmSeal`; throws on a bad tag. */
  readonly aesGcmOpen: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array;
}
