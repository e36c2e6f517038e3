// Shared helpers of the property tests (browser-compatible: no node:*).
import fc from "fast-check";
import { toHex } from "../src/encoding";

/** Random bytes of `min` to `max` length. */
export const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: min, maxLength: max });

/** What a call gives, as text to compare two implementations by: its bytes in hex, or "error". */
export function outcome(f: () => Uint8Array): string {
  try {
    return toHex(f());
  } catch {
    return "error";
  }
}
