/**
 * Randomness, token generation, constant-time comparison and wiping.
 *
 * Randomness comes only from `globalThis.crypto.getRandomValues` (WebCrypto: browsers, Node ≥ 19,
 * workers): a CSPRNG seeded by the operating system. There is no fallback.
 */
import { toBase64Url } from "./encoding";
import { assertBytes, assertInteger, isBytes } from "./errors";

const MAX_RANDOM = 1 << 20;

/** `length` bytes from the platform CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  assertInteger(length, "length", 0, MAX_RANDOM);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.getRandomValues === undefined) throw new Error("globalThis.crypto.getRandomValues is unavailable");
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let o = 0; o < length; o += 65536) c.getRandomValues(out.subarray(o, Math.min(length, o + 65536)));
  return out;
}

/** A fresh 256-bit random token, base64url without padding (43 characters). */
export function generateToken(): string {
  const bytes = randomBytes(32);
  const token = toBase64Url(bytes);
  wipe(bytes);
  return token;
}

/**
 * Compares two byte strings in time that depends only on their lengths (lengths are treated as
 * public). Use for every comparison of MACs, hashes of secrets and commitments.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, "a");
  assertBytes(b, "b");
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Overwrites secret bytes with zeros. Best effort: JavaScript may have made copies, but wiping
 * what we hold shortens the time secrets spend in memory. Non-Uint8Array arguments are ignored.
 */
export function wipe(...arrays: (Uint8Array | undefined | null)[]): void {
  for (const a of arrays) if (isBytes(a)) a.fill(0);
}
