/** zlib and snappy (raw block format, as Go's snappy.Decode) for inform payloads, with output caps. */
import { deflateSync, inflateSync } from "node:zlib";
import SnappyJS from "snappyjs";
import { u8 } from "./bytes";
import { DeviceCodecError } from "./errors";
import type { InformCompression } from "./inform-header";

/**
 * Largest decompressed inform payload: 512 KiB. Real informs are tens of KiB (a 48-port
 * switch's port table, an AP's client table of a few hundred stations: under 200 KiB), and
 * anyone can seal a packet under the public default key, so the cap bounds what one packet
 * costs: inflating, scanning and parsing 512 KiB is a few milliseconds (4 MiB of `[0,0,…]` cost
 * 128 ms of JSON.parse).
 */
export const INFORM_MAX_PLAINTEXT = 512 * 1024;

/**
 * Largest decompressed inform under a device's own authkey: 4 MiB. Such a packet comes from an
 * adopted device (rate-limited per device), and a dense access point's client table can pass
 * 512 KiB; the default key, which anyone can seal under, keeps INFORM_MAX_PLAINTEXT.
 */
export const INFORM_MAX_PLAINTEXT_AUTHENTICATED = 4 * 1024 * 1024;

/**
 * The uncompressed length a snappy block declares (its leading varint, at most 5 bytes), read
 * here so the cap never depends on a library's error text; -1 when the varint is malformed.
 */
export function snappyLength(data: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5 && i < data.length; i++) {
    const b = data[i] ?? 0;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  return -1;
}

/** Inputs up to this size are remembered by compressInform (controller replies; not informs). */
const MEMO_MAX_INPUT = 512;
/**
 * The last small zlib input and its output. Controller replies repeat: a `noop` is the same for
 * every device that informs within the same second, and deflating it anew (a fresh zlib stream
 * each time) cost 3 % of a 10,000-device companion.
 */
let lastDeflate: { input: Buffer; output: Uint8Array } | undefined;

/** Compresses `data` as the flag says. The result must not be modified (it may be shared). */
export function compressInform(data: Uint8Array, compression: InformCompression): Uint8Array {
  if (compression === "zlib") {
    if (data.length > MEMO_MAX_INPUT) return u8(deflateSync(data));
    if (lastDeflate?.input.equals(data)) return lastDeflate.output;
    const output = u8(deflateSync(data));
    lastDeflate = { input: Buffer.from(data), output };
    return output;
  }
  if (compression === "snappy") return SnappyJS.compress(new Uint8Array(data));
  return data;
}

/**
 * Decompresses with a hard cap on the output size; any failure becomes a typed error
 * (`too_large` above the cap, `malformed` otherwise) and never anything else.
 */
export function decompressInform(
  data: Uint8Array,
  compression: InformCompression,
  maxOutput = INFORM_MAX_PLAINTEXT,
): Uint8Array {
  if (compression === "none") return data;
  if (compression === "snappy" && snappyLength(data) > maxOutput)
    throw new DeviceCodecError("too_large", "snappy payload too large");
  try {
    if (compression === "zlib") return u8(inflateSync(data, { maxOutputLength: maxOutput }));
    return SnappyJS.uncompress(new Uint8Array(data), maxOutput);
  } catch (err) {
    const msg = err instanceof Error ? err.message : "";
    const big = (err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE" || /exceed|too (large|big)/i.test(msg);
    throw new DeviceCodecError(big ? "too_large" : "malformed", `${compression} payload does not decompress`);
  }
}
