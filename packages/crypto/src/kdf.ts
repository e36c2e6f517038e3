/**
 * Password / token / recovery-code stretching and key separation.
 *
 *   salt      = SHA-256(lp("veil/v1/kdf-salt") ‖ lp(kind) ‖ lp(context) ‖ served salt)
 *   secret ──Argon2id(salt, per-account params)──► MasterKey (32 bytes)
 *   MasterKey ──HKDF-SHA256(info = veil/v1/<kind>/auth)──► AuthKey (sent to the console)
 *   MasterKey ──HKDF-SHA256(info = veil/v1/<kind>/wrap)──► WrapKey (never leaves the client)
 *
 * The console stores the params, so a malicious console could serve weak ones to make a
 * captured AuthKey cheap to brute-force: `assertKdfParams` refuses anything below the FLOOR
 * (m = 64 MiB and t = 3 as in RFC 9106 §4's second recommended option, with p = 1)
 * or above the CEILING (a denial-of-service guard) BEFORE any derivation.
 *
 * The console also serves the salt. A malicious console that served one fixed salt to every
 * account would let one precomputed table crack every captured AuthKey at once; so the salt
 * Argon2id actually uses also hashes in the `context` the USER supplied (the normalised e-mail
 * for passwords and recovery codes, the instance id from the enrollment string for instance
 * tokens) and the kind of secret. Guessing then costs one Argon2id per guess per account
 * whatever the console serves (DESIGN.md threat model, "stolen database"; review finding 1).
 * The long-term answer is an aPAKE (OPAQUE, RFC 9807), where the console never sees a value
 * it can test guesses against; see docs/CRYPTO.md.
 */
import { argon2id } from "hash-wasm";
import { concat, isWellFormed, lengthPrefixed, utf8 } from "./encoding";
import { assertBytes, assertBytesRange, assertInteger, describe, isBytes } from "./errors";
import { getPrimitives } from "./primitives/index";
import { constantTimeEqual, randomBytes, wipe } from "./random";

/** Argon2id parameters stored per account / instance. Made only by `kdfParams`. */
export type KdfParams = Readonly<{
  algorithm: "argon2id";
  /** Memory in KiB (RFC 9106 `m`). */
  memoryKiB: number;
  /** Passes (RFC 9106 `t`). */
  iterations: number;
  /** Lanes (RFC 9106 `p`). */
  parallelism: number;
  /** 16 random bytes. */
  salt: Uint8Array;
}> & { readonly __brand: "KdfParams" };

/** Argon2id output: the root of one secret's key hierarchy. Wipe after splitting. */
export type MasterKey = Uint8Array & { readonly __brand: "MasterKey" };
/** Proves knowledge of the secret to the console, which stores only `hashAuthKey(authKey)`. */
export type AuthKey = Uint8Array & { readonly __brand: "AuthKey" };
/** Wraps private keys; never sent anywhere. */
export type WrapKey = Uint8Array & { readonly __brand: "WrapKey" };
/** What the console stores in place of an AuthKey. */
export type AuthKeyHash = Uint8Array & { readonly __brand: "AuthKeyHash" };

/** Which kind of secret is being stretched; each has its own HKDF labels. */
export type SecretKind = "password" | "instance-token" | "recovery-code";

/** The cost part of Argon2id parameters. */
export interface KdfCost {
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
}

/** Length of an Argon2id salt. */
export const SALT_LENGTH = 16;
/** Default parameters for new accounts and instances. */
export const DEFAULT_KDF: Readonly<KdfCost> = Object.freeze({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
/** Weakest parameters a client accepts from the console: equal to the default. */
export const KDF_FLOOR: Readonly<KdfCost> = Object.freeze({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
/** Strongest parameters a client accepts (1 GiB, 10 passes, 4 lanes): a denial-of-service guard. */
export const KDF_CEILING: Readonly<KdfCost> = Object.freeze({ memoryKiB: 1048576, iterations: 10, parallelism: 4 });

const MAX_SECRET_BYTES = 4096;
const AUTH_HASH_LABEL = "veil/v1/auth-key-hash";
const KDF_SALT_LABEL = "veil/v1/kdf-salt";
/** Longest KDF context accepted, in UTF-8 bytes (an e-mail address is at most 320 characters). */
export const KDF_CONTEXT_MAX_BYTES = 320;

const KINDS: readonly SecretKind[] = ["password", "instance-token", "recovery-code"];

/** HKDF `info` label for a kind and role, e.g. `veil/v1/password/auth`. */
export function kdfLabel(kind: SecretKind, role: "auth" | "wrap"): string {
  if (!KINDS.includes(kind)) throw new RangeError(`kind must be one of ${KINDS.join(", ")}`);
  if (role !== "auth" && role !== "wrap") throw new RangeError('role must be "auth" or "wrap"');
  return `veil/v1/${kind}/${role}`;
}

/**
 * Checks parameters received from anywhere (the console, a file) BEFORE deriving: integers
 * within [FLOOR, CEILING], a 16-byte salt, algorithm argon2id. Throws a labelled
 * TypeError/RangeError naming the field; a weak or absurd parameter set is refused outright.
 */
export function assertKdfParams(value: unknown): asserts value is KdfParams {
  if (typeof value !== "object" || value === null)
    throw new TypeError(`kdf params must be an object, got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  if (v.algorithm !== "argon2id") throw new RangeError('kdf params.algorithm must be "argon2id"');
  assertInteger(v.memoryKiB, "kdf params.memoryKiB", KDF_FLOOR.memoryKiB, KDF_CEILING.memoryKiB);
  assertInteger(v.iterations, "kdf params.iterations", KDF_FLOOR.iterations, KDF_CEILING.iterations);
  assertInteger(v.parallelism, "kdf params.parallelism", KDF_FLOOR.parallelism, KDF_CEILING.parallelism);
  assertBytes(v.salt, "kdf params.salt", SALT_LENGTH);
}

/** Builds validated, immutable KdfParams (salt copied). Throws like `assertKdfParams`. */
export function kdfParams(input: {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  salt: Uint8Array;
}): KdfParams {
  if (typeof input !== "object" || input === null)
    throw new TypeError(`kdf params must be an object, got ${describe(input)}`);
  const p = {
    algorithm: "argon2id" as const,
    memoryKiB: input.memoryKiB,
    iterations: input.iterations,
    parallelism: input.parallelism,
    salt: isBytes(input.salt) ? Uint8Array.from(input.salt) : input.salt,
  };
  assertKdfParams(p);
  return Object.freeze(p);
}

/** 16 fresh random bytes for a new account's or instance's Argon2id salt. */
export function generateSalt(): Uint8Array {
  return randomBytes(SALT_LENGTH);
}

/** Default parameters with a fresh salt. */
export function generateKdfParams(): KdfParams {
  return kdfParams({ ...DEFAULT_KDF, salt: generateSalt() });
}

/** Secret to bytes: strings are NFC-normalised then UTF-8 encoded (so the same password typed on different systems derives the same key). */
function secretBytes(secret: string | Uint8Array): Uint8Array {
  if (typeof secret === "string") {
    const bytes = utf8(secret.normalize("NFC"));
    if (bytes.length < 1 || bytes.length > MAX_SECRET_BYTES) {
      wipe(bytes);
      throw new RangeError(`secret must be between 1 and ${MAX_SECRET_BYTES} bytes`);
    }
    return bytes;
  }
  assertBytesRange(secret, "secret", 1, MAX_SECRET_BYTES);
  return Uint8Array.from(secret);
}

function assertKind(kind: unknown): asserts kind is SecretKind {
  if (!KINDS.includes(kind as SecretKind)) throw new RangeError(`kind must be one of ${KINDS.join(", ")}`);
}

/**
 * Checks a KDF context and returns its UTF-8 bytes: a string of 1–320 UTF-8 bytes, well-formed
 * and already in Unicode NFC (normalise before calling, so the same identifier typed on two
 * systems gives the same salt; a non-NFC string is refused rather than silently changed).
 */
function contextBytes(context: unknown): Uint8Array {
  if (typeof context !== "string") throw new TypeError(`context must be a string, got ${describe(context)}`);
  if (context.length === 0) throw new RangeError("context must not be empty");
  if (!isWellFormed(context)) throw new RangeError("context contains a lone surrogate");
  if (context.normalize("NFC") !== context) throw new RangeError("context must be in Unicode NFC (normalise it first)");
  const bytes = utf8(context);
  if (bytes.length > KDF_CONTEXT_MAX_BYTES)
    throw new RangeError(`context must be at most ${KDF_CONTEXT_MAX_BYTES} UTF-8 bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * The salt Argon2id actually uses: SHA-256(lp("veil/v1/kdf-salt") ‖ lp(kind) ‖ lp(context) ‖
 * served salt), 32 bytes. `context` is the identifier the user supplied (normalised e-mail for
 * passwords and recovery codes, instance id for instance tokens), so a console that serves the
 * same salt to everyone still gets per-account salts (review finding 1: no shared table).
 * Throws a labelled TypeError/RangeError for a bad kind, context or salt.
 */
export function kdfSalt(kind: SecretKind, context: string, servedSalt: Uint8Array): Uint8Array {
  assertKind(kind);
  const ctx = contextBytes(context);
  assertBytes(servedSalt, "servedSalt", SALT_LENGTH);
  return getPrimitives().sha256(
    concat(lengthPrefixed(KDF_SALT_LABEL), lengthPrefixed(kind), lengthPrefixed(ctx), servedSalt),
  );
}

/**
 * Raw Argon2id (RFC 9106) with no floor check, for known-answer tests only. hash-wasm has no
 * associated-data input (RFC 9106 `X`); Veil does not use it.
 * @internal
 */
export async function argon2idRaw(options: {
  password: Uint8Array;
  salt: Uint8Array;
  secret?: Uint8Array;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  hashLength: number;
}): Promise<Uint8Array> {
  return argon2id({
    password: options.password,
    salt: options.salt,
    ...(options.secret === undefined ? {} : { secret: options.secret }),
    memorySize: options.memoryKiB,
    iterations: options.iterations,
    parallelism: options.parallelism,
    hashLength: options.hashLength,
    outputType: "binary",
  });
}

/**
 * Stretches a password, instance token or recovery code with Argon2id into a 32-byte MasterKey.
 * Params are checked against the floor and ceiling first (a malicious console cannot downgrade).
 * The Argon2id salt is `kdfSalt(kind, context, params.salt)`: `kind` and `context` (the
 * identifier the user supplied; see `kdfSalt`) are REQUIRED so a console serving one salt to
 * everyone cannot make one precomputed table fit every account (review finding 1).
 */
export async function deriveMasterKey(
  secret: string | Uint8Array,
  params: KdfParams,
  kind: SecretKind,
  context: string,
): Promise<MasterKey> {
  assertKdfParams(params);
  const salt = kdfSalt(kind, context, params.salt);
  const password = secretBytes(secret);
  try {
    const out = await argon2idRaw({
      password,
      salt,
      memoryKiB: params.memoryKiB,
      iterations: params.iterations,
      parallelism: params.parallelism,
      hashLength: 32,
    });
    return out as MasterKey;
  } finally {
    wipe(password);
  }
}

/** AuthKey and WrapKey derived from one MasterKey. */
export interface DerivedKeys {
  readonly authKey: AuthKey;
  readonly wrapKey: WrapKey;
}

/**
 * Splits a MasterKey with HKDF-SHA256 (RFC 5869; empty salt, the master key is already uniform)
 * into an AuthKey and a WrapKey with distinct `info` labels `veil/v1/<kind>/auth|wrap`, so the
 * AuthKey the console sees reveals nothing about the WrapKey. Does not wipe `master`.
 */
export function splitMasterKey(master: MasterKey, kind: SecretKind): DerivedKeys {
  assertBytes(master, "master", 32);
  assertKind(kind);
  const p = getPrimitives();
  const empty = new Uint8Array(0);
  return {
    authKey: p.hkdfSha256(master, empty, utf8(kdfLabel(kind, "auth")), 32) as AuthKey,
    wrapKey: p.hkdfSha256(master, empty, utf8(kdfLabel(kind, "wrap")), 32) as WrapKey,
  };
}

/**
 * `deriveMasterKey` then `splitMasterKey`, wiping the MasterKey. `context` is required: the
 * identifier the user supplied, bound into the Argon2id salt (review finding 1; see `kdfSalt`).
 */
export async function deriveKeys(
  secret: string | Uint8Array,
  params: KdfParams,
  kind: SecretKind,
  context: string,
): Promise<DerivedKeys> {
  assertKind(kind);
  const master = await deriveMasterKey(secret, params, kind, context);
  try {
    return splitMasterKey(master, kind);
  } finally {
    wipe(master);
  }
}

/**
 * Keys for an account password. `email` is the e-mail address the user typed, normalised by
 * the caller (NFC, trimmed, lower-cased: one canonical form per account), bound into the salt
 * (review finding 1).
 */
export function derivePasswordKeys(password: string, params: KdfParams, email: string): Promise<DerivedKeys> {
  return deriveKeys(password, params, "password", email);
}

/**
 * Keys for an instance token (the companion's enrollment secret). `instanceId` is the instance
 * id from the enrollment string (never the console's answer), bound into the salt (review
 * finding 1).
 */
export function deriveInstanceTokenKeys(token: string, params: KdfParams, instanceId: string): Promise<DerivedKeys> {
  return deriveKeys(token, params, "instance-token", instanceId);
}

/**
 * Keys for a recovery code. `email` is the account's normalised e-mail address as the user
 * typed it, bound into the salt (review finding 1).
 */
export function deriveRecoveryCodeKeys(code: string, params: KdfParams, email: string): Promise<DerivedKeys> {
  return deriveKeys(code, params, "recovery-code", email);
}

/**
 * What the console stores for an AuthKey: SHA-256(lp("veil/v1/auth-key-hash") ‖ authKey).
 * A stolen table then gives no login credential; guessing the secret still costs an Argon2id.
 */
export function hashAuthKey(authKey: AuthKey): AuthKeyHash {
  assertBytes(authKey, "authKey", 32);
  return getPrimitives().sha256(concat(lengthPrefixed(AUTH_HASH_LABEL), authKey)) as AuthKeyHash;
}

/** Server side: constant-time check of a presented AuthKey against the stored hash. */
export function verifyAuthKey(authKey: Uint8Array, stored: Uint8Array): boolean {
  assertBytes(authKey, "authKey", 32);
  assertBytes(stored, "stored", 32);
  const h = hashAuthKey(authKey as AuthKey);
  return constantTimeEqual(h, stored);
}

/** Brands 32 bytes received as an AuthKey (server side, after transport). Copies. */
export function authKey(bytes: Uint8Array): AuthKey {
  assertBytes(bytes, "authKey", 32);
  return Uint8Array.from(bytes) as AuthKey;
}
