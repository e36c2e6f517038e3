/**
 * The 40-byte big-endian TNBU header of a UniFi inform packet (layout in docs/DEVICES.md;
 * public sources: ZAP-Quebec/unifi-inform packet.go, jrjparks/OpnFi-rs lib_opnfi/src/inform/mod.rs).
 *
 *   0 magic "TNBU" | 4 packet version (0) | 8 MAC (6) | 14 flags (u16) | 16 IV (16)
 *   32 payload version (1) | 36 payload length (u32) | 40 payload
 */
import { bytesToMac, macToBytes, view } from "./bytes";
import { check, DeviceCodecError } from "./errors";

/** Length of the fixed header; also the GCM additional data. */
export const INFORM_HEADER_LENGTH = 40;
/** "TNBU" read as a big-endian u32. */
export const INFORM_MAGIC = 0x544e4255;
/** Largest payload (ciphertext, GCM tag included) accepted or produced: 1 MiB. */
export const INFORM_MAX_PAYLOAD = 1024 * 1024;

/** Header flag bits as public implementations define them. */
export const InformFlag = { CBC: 0x01, ZLIB: 0x02, SNAPPY: 0x04, GCM: 0x08 } as const;

/** Payload encryption of an inform packet. CBC is legacy and unauthenticated. */
export type InformCipher = "cbc" | "gcm";
/** Payload compression applied before encryption. */
export type InformCompression = "none" | "zlib" | "snappy";

/** A parsed, structurally valid header. Nothing in it is authenticated until the payload decrypts (GCM). */
export interface InformHeader {
  /** Device MAC as `aa:bb:cc:dd:ee:ff`: the key lookup index, claimed by the sender. */
  readonly mac: string;
  /** Raw flag word. */
  readonly flags: number;
  readonly cipher: InformCipher;
  readonly compression: InformCompression;
  /** The 16-byte IV (CBC) or nonce (GCM). */
  readonly iv: Uint8Array;
  /** Declared payload length; always equal to the bytes after the header. */
  readonly payloadLength: number;
  /** The 40 header bytes exactly as received (GCM additional data). */
  readonly raw: Uint8Array;
}

/**
 * Maps a flag word to cipher and compression, refusing anything else. Accepted: 0x01 (CBC),
 * 0x08 or 0x09 (GCM — OpnFi-rs tests GCM before CBC, so a set 0x01 beside 0x08 is tolerated),
 * each optionally with exactly one of zlib 0x02 or snappy 0x04. Unencrypted packets and
 * unknown bits are `unsupported`.
 */
export function classifyFlags(flags: number): { cipher: InformCipher; compression: InformCompression } {
  const known = InformFlag.CBC | InformFlag.ZLIB | InformFlag.SNAPPY | InformFlag.GCM;
  check((flags & ~known) === 0, "unknown inform flag bits", "unsupported");
  const zlib = (flags & InformFlag.ZLIB) !== 0;
  const snappy = (flags & InformFlag.SNAPPY) !== 0;
  check(!(zlib && snappy), "zlib and snappy flags together", "unsupported");
  const compression: InformCompression = zlib ? "zlib" : snappy ? "snappy" : "none";
  if ((flags & InformFlag.GCM) !== 0) return { cipher: "gcm", compression };
  check((flags & InformFlag.CBC) !== 0, "unencrypted inform packet", "unsupported");
  return { cipher: "cbc", compression };
}

/** Flag word for a cipher and compression, as this codec emits it (GCM as 0x08 alone). */
export function flagsFor(cipher: InformCipher, compression: InformCompression): number {
  const c = cipher === "gcm" ? InformFlag.GCM : InformFlag.CBC;
  return c | (compression === "zlib" ? InformFlag.ZLIB : compression === "snappy" ? InformFlag.SNAPPY : 0);
}

/**
 * Parses and checks the header of a whole packet without any key: magic, versions, flags,
 * and that the payload length equals the remaining bytes and is within the cap. Lets the
 * companion look up the device's key by MAC before decrypting.
 */
export function parseInformHeader(packet: Uint8Array): InformHeader {
  if (!(packet instanceof Uint8Array)) throw new TypeError("packet must be a Uint8Array");
  check(packet.length >= INFORM_HEADER_LENGTH, "inform packet shorter than its header");
  check(packet.length <= INFORM_HEADER_LENGTH + INFORM_MAX_PAYLOAD, "inform packet too large", "too_large");
  const dv = view(packet);
  check(dv.getUint32(0) === INFORM_MAGIC, "bad inform magic");
  check(dv.getUint32(4) === 0, "unknown inform packet version", "unsupported");
  check(dv.getUint32(32) === 1, "unknown inform payload version", "unsupported");
  const payloadLength = dv.getUint32(36);
  check(payloadLength <= INFORM_MAX_PAYLOAD, "inform payload too large", "too_large");
  check(payloadLength === packet.length - INFORM_HEADER_LENGTH, "inform payload length disagrees with packet size");
  const flags = dv.getUint16(14);
  const { cipher, compression } = classifyFlags(flags);
  const raw = packet.slice(0, INFORM_HEADER_LENGTH);
  return {
    mac: bytesToMac(raw.subarray(8, 14)),
    flags,
    cipher,
    compression,
    iv: raw.slice(16, 32),
    payloadLength,
    raw,
  };
}

/** Builds the 40 header bytes. `payloadLength` is the final (encrypted) payload size. */
export function buildInformHeader(mac: string, flags: number, iv: Uint8Array, payloadLength: number): Uint8Array {
  if (iv.length !== 16) throw new RangeError("iv must be 16 bytes");
  if (!Number.isInteger(payloadLength) || payloadLength < 0)
    throw new RangeError("payloadLength must be a non-negative integer");
  if (payloadLength > INFORM_MAX_PAYLOAD) throw new DeviceCodecError("too_large", "inform payload too large");
  const out = new Uint8Array(INFORM_HEADER_LENGTH);
  const dv = view(out);
  dv.setUint32(0, INFORM_MAGIC);
  dv.setUint32(4, 0);
  out.set(macToBytes(mac), 8);
  dv.setUint16(14, flags);
  out.set(iv, 16);
  dv.setUint32(32, 1);
  dv.setUint32(36, payloadLength);
  return out;
}
