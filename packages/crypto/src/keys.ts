/**
 * Key types. Each kind of key is a distinct branded type made only by its constructor, which
 * checks the length (and, for public keys, the encoding), so an X25519 key can never be passed
 * where an Ed25519 key is expected, nor a private key where a public one is.
 *
 * - Identity keys: Ed25519 (RFC 8032), one per account / instance; they sign.
 * - Box keys: X25519 (RFC 7748), for HPKE sealing and Noise; each static box key is certified
 *   by its owner's identity key (`certifyBoxKey`).
 */
import { concat, fromBase64Url, lengthPrefixed, toBase64Url, u8 } from "./encoding";
import { isAcceptablePoint } from "./ed25519";
import { VerifyError, assertBytes, assertString, describe as describeValue } from "./errors";
import { getPrimitives } from "./primitives/index";
import { randomBytes, wipe } from "./random";
import { signStatement, verifyStatement, type SignedStatement } from "./sign";

/** Ed25519 private key: the 32-byte seed of RFC 8032 §5.1.5. */
export type IdentityPrivateKey = Uint8Array & { readonly __brand: "IdentityPrivateKey" };
/** Ed25519 public key: a canonical, non-small-order point encoding. */
export type IdentityPublicKey = Uint8Array & { readonly __brand: "IdentityPublicKey" };
/** X25519 private key (32 bytes; clamped on use, RFC 7748 §5). */
export type BoxPrivateKey = Uint8Array & { readonly __brand: "BoxPrivateKey" };
/** X25519 public key (32 bytes). */
export type BoxPublicKey = Uint8Array & { readonly __brand: "BoxPublicKey" };

/** An identity key pair. */
export interface IdentityKeyPair {
  readonly privateKey: IdentityPrivateKey;
  readonly publicKey: IdentityPublicKey;
}
/** A box key pair. */
export interface BoxKeyPair {
  readonly privateKey: BoxPrivateKey;
  readonly publicKey: BoxPublicKey;
}

/** Brands a 32-byte Ed25519 seed (copied). */
export function identityPrivateKey(bytes: Uint8Array): IdentityPrivateKey {
  assertBytes(bytes, "identityPrivateKey", 32);
  return Uint8Array.from(bytes) as IdentityPrivateKey;
}

/**
 * Brands an Ed25519 public key (copied). Rejects non-canonical encodings (y ≥ p, RFC 8032
 * §5.1.3) and small-order points with a RangeError, the same rule signatures are verified under.
 */
export function identityPublicKey(bytes: Uint8Array): IdentityPublicKey {
  assertBytes(bytes, "identityPublicKey", 32);
  if (!isAcceptablePoint(bytes))
    throw new RangeError("identityPublicKey is not a canonical, non-small-order Ed25519 point");
  return Uint8Array.from(bytes) as IdentityPublicKey;
}

/** Brands a 32-byte X25519 private key (copied). */
export function boxPrivateKey(bytes: Uint8Array): BoxPrivateKey {
  assertBytes(bytes, "boxPrivateKey", 32);
  return Uint8Array.from(bytes) as BoxPrivateKey;
}

/** Brands a 32-byte X25519 public key (copied). Low-order keys are caught at DH time (all-zero output). */
export function boxPublicKey(bytes: Uint8Array): BoxPublicKey {
  assertBytes(bytes, "boxPublicKey", 32);
  return Uint8Array.from(bytes) as BoxPublicKey;
}

/** The key pair for an existing identity private key. */
export function identityKeyPairFromPrivateKey(privateKey: IdentityPrivateKey): IdentityKeyPair {
  assertBytes(privateKey, "privateKey", 32);
  const pub = getPrimitives().ed25519PublicKey(privateKey);
  return { privateKey: identityPrivateKey(privateKey), publicKey: identityPublicKey(pub) };
}

/** A fresh Ed25519 identity key pair from the platform CSPRNG. */
export function generateIdentityKeyPair(): IdentityKeyPair {
  const seed = randomBytes(32);
  try {
    return identityKeyPairFromPrivateKey(seed as IdentityPrivateKey);
  } finally {
    wipe(seed);
  }
}

/** The key pair for an existing box private key. */
export function boxKeyPairFromPrivateKey(privateKey: BoxPrivateKey): BoxKeyPair {
  assertBytes(privateKey, "privateKey", 32);
  const pub = getPrimitives().x25519PublicKey(privateKey);
  return { privateKey: boxPrivateKey(privateKey), publicKey: boxPublicKey(pub) };
}

/** A fresh X25519 box key pair from the platform CSPRNG. */
export function generateBoxKeyPair(): BoxKeyPair {
  const sk = randomBytes(32);
  try {
    return boxKeyPairFromPrivateKey(sk as BoxPrivateKey);
  } finally {
    wipe(sk);
  }
}

/**
 * X25519 shared secret that refuses the all-zero output of a low-order peer key
 * (RFC 7748 §6.1) with a RangeError. Returns null-free 32 bytes; wipe after use.
 */
export function x25519SharedSecret(privateKey: BoxPrivateKey, publicKey: BoxPublicKey): Uint8Array {
  assertBytes(privateKey, "privateKey", 32);
  assertBytes(publicKey, "publicKey", 32);
  const shared = getPrimitives().x25519(privateKey, publicKey);
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new RangeError("publicKey is a low-order X25519 point");
  return shared;
}

const FINGERPRINT_LABEL = "veil/v1/fingerprint/identity";
const SAFETY_LABEL = "veil/v1/safety-code";

/**
 * SHA-256(lp("veil/v1/fingerprint/identity") ‖ publicKey): 32 bytes that name an identity key
 * (enrollment strings pin it). Domain-separated so it never equals any other hash we compute.
 */
export function fingerprint(publicKey: IdentityPublicKey): Uint8Array {
  assertBytes(publicKey, "publicKey", 32);
  return getPrimitives().sha256(concat(lengthPrefixed(FINGERPRINT_LABEL), publicKey));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return a.length - b.length;
}

/**
 * A short human-comparable code, 8 groups of 5 digits (≈ 133 bits), in the style of Signal's
 * safety numbers. With one key it names that key; with two it names the pair and is the same
 * whichever side computes it (the fingerprints are sorted). Each group is a 32-bit big-endian
 * word of SHA-256(lp("veil/v1/safety-code") ‖ count ‖ fingerprints…) mod 100000 (bias < 2^-15).
 */
export function safetyCode(publicKey: IdentityPublicKey, peer?: IdentityPublicKey): string {
  const fps = [fingerprint(publicKey)];
  if (peer !== undefined) fps.push(fingerprint(peer));
  fps.sort(compareBytes);
  const digest = getPrimitives().sha256(concat(lengthPrefixed(SAFETY_LABEL), u8(fps.length), ...fps));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(String(view.getUint32(4 * i, false) % 100000).padStart(5, "0"));
  return groups.join(" ");
}

/** Signature domain of box-key certificates. */
export const BOX_KEY_CERTIFICATE_DOMAIN = "veil/v1/box-key-certificate";
const OWNER_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** Who owns a certified box key. */
export type BoxKeyOwnerKind = "account" | "instance";
/**
 * What a certified box key is for: "session" (the Noise static key of E2E sessions), "vault"
 * (an instance's vault key, sealed to by anyone), "box" (general sealing: grants' secrets,
 * snapshots, per-recipient content keys).
 */
export type BoxKeyPurpose = "session" | "vault" | "box";
/** Accepted owner kinds. */
export const BOX_KEY_OWNER_KINDS: readonly BoxKeyOwnerKind[] = Object.freeze(["account", "instance"] as const);
/** Accepted purposes. */
export const BOX_KEY_PURPOSES: readonly BoxKeyPurpose[] = Object.freeze(["session", "vault", "box"] as const);

/** What a box-key certificate binds besides the key (review finding 2). */
export interface BoxKeyCertificateSubject {
  /** Account or instance: an account's key never passes for an instance's with the same id. */
  readonly ownerKind: BoxKeyOwnerKind;
  /** Account or instance id (1–128 chars of [A-Za-z0-9._:-]). */
  readonly ownerId: string;
  /** What the key is for: a vault key never passes as a session key, and so on. */
  readonly purpose: BoxKeyPurpose;
}

/** Inputs of `certifyBoxKey`. */
export interface CertifyBoxKeyOptions extends BoxKeyCertificateSubject {
  /** Key generation: 0 for the first key, +1 at each rotation (non-negative safe integer). */
  readonly epoch: number;
}

/** Expectations of `verifyBoxKeyCertificate`. */
export interface VerifyBoxKeyCertificateOptions extends BoxKeyCertificateSubject {
  /**
   * Lowest epoch accepted: the highest epoch the verifier has already seen for this owner and
   * purpose (pinned), so a console cannot roll back to a key certified before a rotation.
   */
  readonly minEpoch: number;
}

/** What a verified certificate yields. */
export interface CertifiedBoxKey {
  readonly boxPublicKey: BoxPublicKey;
  readonly epoch: number;
}

function checkSubject(o: unknown, name: string): BoxKeyCertificateSubject {
  if (typeof o !== "object" || o === null) throw new TypeError(`${name} must be an object, got ${describeValue(o)}`);
  const v = o as Record<string, unknown>;
  if (!BOX_KEY_OWNER_KINDS.includes(v.ownerKind as BoxKeyOwnerKind))
    throw new RangeError(`${name}.ownerKind must be one of ${BOX_KEY_OWNER_KINDS.join(", ")}`);
  assertString(v.ownerId, `${name}.ownerId`, 1, 128, OWNER_PATTERN);
  if (!BOX_KEY_PURPOSES.includes(v.purpose as BoxKeyPurpose))
    throw new RangeError(`${name}.purpose must be one of ${BOX_KEY_PURPOSES.join(", ")}`);
  return { ownerKind: v.ownerKind as BoxKeyOwnerKind, ownerId: v.ownerId, purpose: v.purpose as BoxKeyPurpose };
}

function checkEpoch(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${field} must be a non-negative safe integer`);
  return value;
}

/**
 * Certifies a static X25519 box key with the owner's identity key (DESIGN.md: static X25519 keys
 * are certified by Ed25519 identity keys). The signed body is
 * `{v: 1, ownerKind, ownerId, purpose, boxPublicKey, epoch}`: binding the owner kind, the
 * purpose and a rotation epoch (review finding 2) stops a console from serving an account key
 * as an instance key, a vault key as a session key, or an old key certified before a rotation
 * (the verifier refuses epochs below the one it has pinned).
 */
export function certifyBoxKey(
  identity: IdentityPrivateKey,
  boxKey: BoxPublicKey,
  options: CertifyBoxKeyOptions,
): SignedStatement {
  assertBytes(identity, "identity", 32);
  assertBytes(boxKey, "boxKey", 32);
  const subject = checkSubject(options, "options");
  const epoch = checkEpoch(options.epoch, "options.epoch");
  return signStatement(
    BOX_KEY_CERTIFICATE_DOMAIN,
    {
      v: 1,
      ownerKind: subject.ownerKind,
      ownerId: subject.ownerId,
      purpose: subject.purpose,
      boxPublicKey: toBase64Url(boxKey),
      epoch,
    },
    identity,
  );
}

/**
 * Checks a box-key certificate against the owner's pinned identity key and the expected owner
 * kind, owner id and purpose, and refuses an epoch below `minEpoch` (rollback, review finding
 * 2). Returns the certified key and its epoch (pin the epoch). Throws the opaque VerifyError on
 * any mismatch of the certificate; a TypeError/RangeError for bad expectations (a caller bug).
 */
export function verifyBoxKeyCertificate(
  certificate: SignedStatement,
  identity: IdentityPublicKey,
  options: VerifyBoxKeyCertificateOptions,
): CertifiedBoxKey {
  const subject = checkSubject(options, "options");
  const minEpoch = checkEpoch(options.minEpoch, "options.minEpoch");
  const body = verifyStatement(certificate, BOX_KEY_CERTIFICATE_DOMAIN, identity);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new VerifyError();
  const b = body as { readonly [k: string]: unknown };
  if (
    Object.keys(b).length !== 6 ||
    b.v !== 1 ||
    b.ownerKind !== subject.ownerKind ||
    b.ownerId !== subject.ownerId ||
    b.purpose !== subject.purpose ||
    typeof b.boxPublicKey !== "string" ||
    typeof b.epoch !== "number" ||
    !Number.isSafeInteger(b.epoch) ||
    b.epoch < minEpoch
  ) {
    throw new VerifyError();
  }
  try {
    return { boxPublicKey: boxPublicKey(fromBase64Url(b.boxPublicKey)), epoch: b.epoch };
  } catch {
    throw new VerifyError();
  }
}
