/**
 * `@veil/crypto/node`: the node:crypto (OpenSSL) primitives for the console and the companion.
 * Only this entry (and src/primitives/node.ts) may import node: modules; the main entry stays
 * universal.
 */
import { setPrimitives, useSodiumAead } from "./primitives/index";
import { nodePrimitives } from "./primitives/node";

export { nodePrimitives };

/**
 * Switches the whole process to node:crypto for every primitive (same bytes, 2×–60× faster;
 * docs/CRYPTO.md). Call once at start-up, before any key is used.
 */
export function useNativePrimitives(): void {
  setPrimitives(nodePrimitives);
}

/**
 * The largest AEAD message a Node process hands to libsodium: above about a kilobyte OpenSSL's
 * vectorised ChaCha20 is faster, below it OpenSSL's per-call cipher set-up costs more than
 * libsodium's whole call (docs/PERFORMANCE.md, "Session 8").
 */
export const SODIUM_MAX_BYTES_IN_NODE = 1024;

/**
 * `useNativePrimitives()`, then libsodium in front of it for ChaCha20-Poly1305 messages up to
 * SODIUM_MAX_BYTES_IN_NODE: for long-running processes that seal and open many small frames (the
 * companion). Rejects, leaving node:crypto in use, when libsodium cannot load.
 */
export async function useFastestPrimitives(): Promise<void> {
  useNativePrimitives();
  await useSodiumAead(SODIUM_MAX_BYTES_IN_NODE);
}
