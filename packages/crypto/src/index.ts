/**
 * @veil/crypto — all of Veil's cryptography, isomorphic (browser and Node), no I/O.
 *
 * Every export below carries its own JSDoc at its definition (why it exists and which RFC
 * section its checks come from); docs/CRYPTO.md describes every construction and byte format.
 * Node processes call `useNativePrimitives()` (or `useFastestPrimitives()`) from
 * `@veil/crypto/node` once at start-up; a browser that opens E2E sessions calls `useSodiumAead()`.
 */

// Primitive implementation selection (noble by default; node:crypto via @veil/crypto/node;
// libsodium in front for ChaCha20-Poly1305 via useSodiumAead).
export { getPrimitives, setPrimitives, noblePrimitives, useSodiumAead, type Primitives } from "./primitives/index";
export { loadSodium, withSodiumAead } from "./primitives/sodium";

// Errors: one opaque error per failure kind; labelled TypeError/RangeError for bad inputs.
export { DecryptError, VerifyError } from "./errors";

// Encodings.
export {
  toHex,
  fromHex,
  toBase64Url,
  fromBase64Url,
  utf8,
  fromUtf8,
  concat,
  u8,
  u16be,
  u32be,
  u64be,
  readU32be,
  readU64be,
  lengthPrefixed,
} from "./encoding";

// Randomness and memory hygiene.
export { randomBytes, generateToken, constantTimeEqual, wipe } from "./random";

// Password / token / recovery-code stretching (RFC 9106) and key separation (RFC 5869).
export {
  DEFAULT_KDF,
  KDF_FLOOR,
  KDF_CEILING,
  SALT_LENGTH,
  assertKdfParams,
  kdfParams,
  kdfLabel,
  kdfSalt,
  KDF_CONTEXT_MAX_BYTES,
  generateSalt,
  generateKdfParams,
  deriveMasterKey,
  splitMasterKey,
  deriveKeys,
  derivePasswordKeys,
  deriveInstanceTokenKeys,
  deriveRecoveryCodeKeys,
  hashAuthKey,
  verifyAuthKey,
  authKey,
  type KdfCost,
  type KdfParams,
  type MasterKey,
  type AuthKey,
  type WrapKey,
  type AuthKeyHash,
  type SecretKind,
  type DerivedKeys,
} from "./kdf";

// Keys: branded Ed25519 identity keys and X25519 box keys.
export {
  identityPrivateKey,
  identityPublicKey,
  boxPrivateKey,
  boxPublicKey,
  identityKeyPairFromPrivateKey,
  generateIdentityKeyPair,
  boxKeyPairFromPrivateKey,
  generateBoxKeyPair,
  x25519SharedSecret,
  fingerprint,
  safetyCode,
  certifyBoxKey,
  verifyBoxKeyCertificate,
  BOX_KEY_CERTIFICATE_DOMAIN,
  BOX_KEY_OWNER_KINDS,
  BOX_KEY_PURPOSES,
  type BoxKeyOwnerKind,
  type BoxKeyPurpose,
  type BoxKeyCertificateSubject,
  type CertifyBoxKeyOptions,
  type VerifyBoxKeyCertificateOptions,
  type CertifiedBoxKey,
  type IdentityPrivateKey,
  type IdentityPublicKey,
  type BoxPrivateKey,
  type BoxPublicKey,
  type IdentityKeyPair,
  type BoxKeyPair,
} from "./keys";

// Ed25519 under the one verification rule (RFC 8032 §5.1.7 + canonical A, R + small-order rejection).
export { signEd25519, verifyEd25519, isAcceptablePoint } from "./ed25519";

// Signed statements over canonical JSON.
export {
  canonicalJson,
  statementBytes,
  signStatement,
  verifyStatement,
  DOMAIN_PATTERN,
  type JsonValue,
  type SignedStatement,
} from "./sign";

// Key wrapping in the versioned envelope.
export { wrapKey, unwrapKey, wrappedKey, WRAP_PURPOSES, type WrappedKey, type WrapContext } from "./wrap";
export { parseEnvelope, encodeEnvelope, ENVELOPE_VERSION, ALG_XCHACHA20_POLY1305, type Envelope } from "./envelope";

// HPKE (RFC 9180), DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305.
export {
  HPKE_MODE,
  deriveHpkeKeyPair,
  setupHpkeSender,
  setupHpkeReceiver,
  hpkeSeal,
  hpkeOpen,
  hpkeSendExport,
  hpkeReceiveExport,
  HpkeSenderContext,
  HpkeReceiverContext,
  type HpkeMode,
  type HpkeOptions,
  type HpkeSenderOptions,
  type HpkeReceiverOptions,
} from "./hpke";

// Multi-recipient, key-committing sealed boxes.
export {
  seal,
  unseal,
  SEALED_VERSION,
  MAX_RECIPIENTS,
  MAX_SEALED_PAYLOAD,
  type SealedBox,
  type SealOptions,
  type UnsealOptions,
} from "./seal";

/** The end-to-end session between a browser and a companion (Noise_KK). */
export * from "./session/index";
