/**
 * Shape limits for inform JSON, checked before JSON.parse. JSON.parse runs on the event loop
 * and its cost follows the number of values and the nesting, not the byte count alone: ~2 KiB
 * of zlib inflating to a million nested `[` cost 640 ms. One linear byte scan that skips string
 * contents (escapes included) counts nesting depth and structural tokens and refuses a payload
 * over either bound, so what JSON.parse sees is bounded too.
 */
import { DeviceCodecError } from "./errors";

/** Deepest nesting a real inform uses is about 6 (root → port_table → entry → mac_table → entry). */
export const INFORM_MAX_DEPTH = 32;

/**
 * Most structural tokens (brackets, braces, commas, colons, string openings) in one inform.
 * A big switch or AP inform has ~20,000; 100,000 leaves room and keeps JSON.parse to a few ms.
 */
export const INFORM_MAX_TOKENS = 100_000;

/** Most structural tokens in one inform under a device's own authkey (INFORM_MAX_PLAINTEXT_AUTHENTICATED). */
export const INFORM_MAX_TOKENS_AUTHENTICATED = 1_000_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws `DeviceCodecError("too_large")` when `bytes` (UTF-8 JSON) nests deeper than
 * `maxDepth` or holds more than `maxTokens` structural tokens. Does not validate JSON:
 * JSON.parse does that afterwards, on a payload now known to be cheap to parse.
 */
export function checkJsonBounds(
  bytes: Uint8Array,
  maxDepth: number = INFORM_MAX_DEPTH,
  maxTokens: number = INFORM_MAX_TOKENS,
): void {
  let depth = 0;
  let tokens = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        tokens++;
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (++depth > maxDepth) throw new DeviceCodecError("too_large", "inform JSON nests too deep");
        tokens++;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        tokens++;
        break;
      case 0x2c: // ,
      case 0x3a: // :
        tokens++;
        break;
      default:
        continue;
    }
    if (tokens > maxTokens) throw new DeviceCodecError("too_large", "inform JSON has too many values");
  }
}
