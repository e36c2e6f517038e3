/**
 * The process-wide primitive implementation. `noblePrimitives` (pure JS) is the default so the
 * package works everywhere; Node processes switch to `nodePrimitives` once at start-up with
 * `useNativePrimitives()` from `@veil/crypto/node`. Every construction in this package calls
 * `getPrimitives()` at the time of the operation, so the switch takes effect everywhere.
 */
import { noblePrimitives } from "./noble";
import { loadSodium, withSodiumAead } from "./sodium";
import type { Primitives } from "./types";

const METHODS = [
  "sha256",
  "hmacSha256",
  "hkdfSha256",
  "x25519PublicKey",
  "x25519",
  "ed25519PublicKey",
  "ed25519Sign",
  "ed25519Verify",
  "chacha20poly1305Seal",
  "chacha20poly1305Open",
  "xchacha20poly1305Seal",
  "xchacha20poly1305Open",
  "aesGcmSeal",
  "aesGcmOpen",
] as const;

let current: Primitives = noblePrimitives;

/** The primitive implementation in use (noble unless `setPrimitives` chose another). */
export function getPrimitives(): Primitives {
  return current;
}

/**
 * Selects the primitive implementation for the whole process. Throws a TypeError unless `p`
 * implements every method of `Primitives`.
 */
export function setPrimitives(p: Primitives): void {
  if (typeof p !== "object" || p === null || typeof p.name !== "string")
    throw new TypeError("primitives must be a Primitives object");
  for (const m of METHODS) if (typeof p[m] !== "function") throw new TypeError(`primitives.${m} must be a function`);
  current = p;
}

/**
 * Puts libsodium's ChaCha20-Poly1305 and XChaCha20-Poly1305 in front of the implementation in use
 * (primitives/sodium.ts) for messages of at most `maxBytes`. Resolves once it is installed; rejects
 * when libsodium cannot load (no WebAssembly), leaving the implementation in use unchanged, which
 * gives the same bytes, only slower. Call again after `setPrimitives` to put it back in front.
 */
export async function useSodiumAead(maxBytes?: number): Promise<void> {
  const sodium = await loadSodium();
  if (!current.name.endsWith("+sodium")) setPrimitives(withSodiumAead(current, sodium, maxBytes));
}

export { noblePrimitives };
export type { Primitives };
