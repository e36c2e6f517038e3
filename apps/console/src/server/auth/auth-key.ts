import { equalBytes, labelledHash } from "./bytes";

/**
 * What the console stores for an account's auth key: SHA-256(lp("veil/v1/auth-key-hash") ‖
 * authKey) — byte-for-byte @veil/crypto's `hashAuthKey` (test/auth-key.test.ts checks it).
 * The auth key is a 256-bit HKDF output of an Argon2id master key, so a fast hash suffices:
 * guessing the password from a stolen hash still costs one Argon2id per guess.
 */
export function hashAuthKey(authKey: Uint8Array): Uint8Array {
  if (authKey.length !== 32) throw new RangeError("authKey must be 32 bytes");
  return labelledHash("veil/v1/auth-key-hash", authKey);
}

/** Constant-time check of a presented auth key against a stored hash. */
export function verifyAuthKey(authKey: Uint8Array, stored: Uint8Array): boolean {
  return equalBytes(hashAuthKey(authKey), stored);
}

/** Compared against when the e-mail is unknown, so both paths do the same work. */
export const DUMMY_AUTH_KEY_HASH: Uint8Array = hashAuthKey(new Uint8Array(32));
