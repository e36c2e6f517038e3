/** The companion's single import point for @veil/crypto (including the Noise session module). */
import { Buffer } from "node:buffer";

export * from "@veil/crypto";

/**
 * Unpadded base64url (RFC 4648 §5) of `bytes`: the same text as @veil/crypto's portable encoder,
 * from Node's native one. The companion encodes every frame it sends (4 % of its CPU per request
 * with the portable one). Decoding stays @veil/crypto's strict decoder.
 */
export function toBase64Url(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}
