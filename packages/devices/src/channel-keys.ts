/**
 * Session keys of the device channel. Each WebSocket session derives two fresh AES-256-GCM
 * keys, one per direction, with HKDF-SHA256 (RFC 5869):
 *
 *   salt = server random (16) ‖ client random (16)
 *   ikm  = the 32-byte site key or device key
 *   info = "veil/device-channel/v1/" ‖ ("up" | "down") ‖ key type ‖ key id ‖ MAC
 *
 * Fresh randoms from both ends make every session's keys new, so counters can start at 0 in
 * every session without ever reusing a nonce, and a recorded session cannot be replayed into a
 * new one (the companion's random differs).
 */
import { hkdfSync } from "node:crypto";
import { concatBytes, macToBytes, u8 } from "./bytes";

const LABEL = new TextEncoder().encode("veil/device-channel/v1/");

/** The two directional keys of one session. */
export interface SessionKeys {
  readonly up: Uint8Array;
  readonly down: Uint8Array;
}

/** Derives the session keys; inputs are checked for length. */
export function deriveSessionKeys(
  key: Uint8Array,
  serverRandom: Uint8Array,
  clientRandom: Uint8Array,
  keyType: 1 | 2,
  keyId: Uint8Array,
  mac: string,
): SessionKeys {
  if (key.length !== 32) throw new RangeError("channel key must be 32 bytes");
  if (serverRandom.length !== 16 || clientRandom.length !== 16)
    throw new RangeError("session randoms must be 16 bytes");
  if (keyId.length !== 8) throw new RangeError("keyId must be 8 bytes");
  const salt = concatBytes(serverRandom, clientRandom);
  const tail = concatBytes(Uint8Array.of(keyType), keyId, macToBytes(mac));
  const derive = (dir: string): Uint8Array =>
    u8(new Uint8Array(hkdfSync("sha256", key, salt, concatBytes(LABEL, new TextEncoder().encode(dir), tail), 32)));
  return { up: derive("up"), down: derive("down") };
}
