/**
 * `@veil/crypto/node`: the node:crypto (OpenSSL) primitives for the console and the companion.
 * Only this entry (and src/primitives/node.ts) may import node: modules; the main entry stays
 * universal.
 */
import { setPrimitives } from "./primitives/index";
import { nodePrimitives } from "./primitives/node";

export { nodePrimitives };

/**
 * Switches the whole process to node:crypto for every primitive (same bytes, 2×–60× faster;
 * docs/CRYPTO.md). Call once at start-up, before any key is used.
 */
export function useNativePrimitives(): void {
  setPrimitives(nodePrimitives);
}
