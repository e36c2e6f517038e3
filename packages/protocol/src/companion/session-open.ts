import { MAX_GRANT_BUNDLE_BYTES } from "./statements";

/**
 * The `frame` of a browser's `handshake` relay frame: the grant bundle in clear (public keys,
 * role, signatures — the companion needs the account's box key BEFORE it can read Noise
 * message 1) followed by Noise message 1.
 *
 *   version u8 = 1 ‖ u16be bundleLength ‖ grant bundle (UTF-8 JSON) ‖ Noise message 1
 *
 * A console that rewrites the bundle breaks its signatures; one that swaps in another valid
 * grant names a box key the browser does not hold, so Noise_KK fails.
 */
export const SESSION_OPEN_VERSION = 1;

/** Encodes a session-open frame. */
export function encodeSessionOpen(bundleJson: string, noiseMessage: Uint8Array): Uint8Array {
  const bundle = new TextEncoder().encode(bundleJson);
  if (bundle.length > MAX_GRANT_BUNDLE_BYTES)
    throw new RangeError(`grant bundle must be at most ${MAX_GRANT_BUNDLE_BYTES} bytes`);
  const out = new Uint8Array(3 + bundle.length + noiseMessage.length);
  out[0] = SESSION_OPEN_VERSION;
  out[1] = bundle.length >> 8;
  out[2] = bundle.length & 0xff;
  out.set(bundle, 3);
  out.set(noiseMessage, 3 + bundle.length);
  return out;
}

/** Splits a session-open frame; throws a RangeError when it is malformed. The bundle is still unverified. */
export function decodeSessionOpen(frame: Uint8Array): { bundleJson: string; noiseMessage: Uint8Array } {
  if (frame.length < 3 || frame[0] !== SESSION_OPEN_VERSION) throw new RangeError("session-open frame is malformed");
  const length = ((frame[1] ?? 0) << 8) | (frame[2] ?? 0);
  if (length > MAX_GRANT_BUNDLE_BYTES || frame.length < 3 + length + 1)
    throw new RangeError("session-open frame is malformed");
  let bundleJson: string;
  try {
    bundleJson = new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(3, 3 + length));
  } catch {
    throw new RangeError("session-open frame is malformed");
  }
  return { bundleJson, noiseMessage: frame.slice(3 + length) };
}
