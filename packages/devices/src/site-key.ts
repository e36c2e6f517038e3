/**
 * The site key: what an operator pastes into a device so it can reach the companion — the
 * companion's WSS URL, a 256-bit key with its 8-byte id, and optionally the SHA-256
 * fingerprint of the companion's TLS certificate to pin. Text form:
 *
 *   "veilsite1_" + base64url(version 1 | flags | keyId 8 | key 32 | [fingerprint 32] | urlLen u16 | url | check 4)
 *
 * `check` is the first 4 bytes of SHA-256 over everything before it: it catches a mangled
 * paste, it is not a security measure.
 */
import { createHash } from "node:crypto";
import { concatBytes, u8, view } from "./bytes";
import { check } from "./errors";

/** Prefix of the text form; the digit is the binary version. */
export const SITE_KEY_PREFIX = "veilsite1_";
const VERSION = 1;
const FLAG_FINGERPRINT = 0x01;
const MAX_URL = 512;

/** A decoded site key. `key` is secret: never log it. */
export interface SiteKey {
  /** `wss://host:port/path` of the companion's device endpoint. */
  readonly url: string;
  /** 8-byte key id: lets the companion keep an old site key valid while a new one rolls out. */
  readonly keyId: Uint8Array;
  /** 32-byte AES-256-GCM key material (the HKDF input of device-channel sessions). */
  readonly key: Uint8Array;
  /** SHA-256 of the companion certificate's DER, when the device should pin it. */
  readonly certFingerprint?: Uint8Array;
}

const checksum = (b: Uint8Array): Uint8Array => u8(createHash("sha256").update(b).digest()).subarray(0, 4);

function checkUrl(url: string): Uint8Array {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("site key url must be an absolute URL");
  }
  if (parsed.protocol !== "wss:") throw new TypeError("site key url must use wss://");
  const bytes = new TextEncoder().encode(url);
  if (bytes.length > MAX_URL) throw new RangeError("site key url is too long");
  return bytes;
}

/** Encodes a site key to its `veilsite1_…` text form. Throws labelled TypeError/RangeError. */
export function encodeSiteKey(siteKey: SiteKey): string {
  if (siteKey.keyId.length !== 8) throw new RangeError("site key keyId must be 8 bytes");
  if (siteKey.key.length !== 32) throw new RangeError("site key key must be 32 bytes");
  const fp = siteKey.certFingerprint;
  if (fp !== undefined && fp.length !== 32) throw new RangeError("site key certFingerprint must be 32 bytes");
  const url = checkUrl(siteKey.url);
  const len = new Uint8Array(2);
  view(len).setUint16(0, url.length);
  const body = concatBytes(
    Uint8Array.of(VERSION, fp ? FLAG_FINGERPRINT : 0),
    siteKey.keyId,
    siteKey.key,
    fp ?? new Uint8Array(0),
    len,
    url,
  );
  return SITE_KEY_PREFIX + Buffer.from(concatBytes(body, checksum(body))).toString("base64url");
}

/**
 * Decodes `veilsite1_…` text. Throws DeviceCodecError (`malformed`/`unsupported`) for a bad
 * prefix, length, checksum, flag or URL; never echoes the input.
 */
export function decodeSiteKey(text: string): SiteKey {
  check(typeof text === "string" && text.length <= 1024, "site key text too long or not a string");
  const trimmed = text.trim();
  check(trimmed.startsWith(SITE_KEY_PREFIX), "not a veilsite1 site key", "unsupported");
  const b64 = trimmed.slice(SITE_KEY_PREFIX.length);
  check(/^[A-Za-z0-9_-]+$/.test(b64), "site key is not base64url");
  const bin = u8(Buffer.from(b64, "base64url"));
  check(bin.length >= 2 + 8 + 32 + 2 + 4, "site key too short");
  const body = bin.subarray(0, bin.length - 4);
  check(Buffer.from(checksum(body)).equals(bin.subarray(bin.length - 4)), "site key checksum mismatch");
  check(body[0] === VERSION, "unknown site key version", "unsupported");
  const flags = body[1] ?? 0;
  check((flags & ~FLAG_FINGERPRINT) === 0, "unknown site key flags", "unsupported");
  let off = 2;
  const keyId = body.slice(off, (off += 8));
  const key = body.slice(off, (off += 32));
  let certFingerprint: Uint8Array | undefined;
  if (flags & FLAG_FINGERPRINT) {
    check(body.length >= off + 32 + 2, "site key too short");
    certFingerprint = body.slice(off, (off += 32));
  }
  check(body.length >= off + 2, "site key too short");
  const urlLen = view(body).getUint16(off);
  off += 2;
  check(body.length === off + urlLen, "site key url length disagrees with its size");
  let url: string;
  try {
    url = new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(off));
    checkUrl(url);
  } catch {
    check(false, "site key url is invalid");
  }
  return certFingerprint === undefined ? { url, keyId, key } : { url, keyId, key, certFingerprint };
}
