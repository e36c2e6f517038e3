/** Byte helpers shared by the codecs: MAC text form, hex, big-endian integers. */
import { DeviceCodecError } from "./errors";

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Two lower-case hex digits of every byte value (MACs are formatted once per inform). */
const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Parses `aa:bb:cc:dd:ee:ff` (any case, `:` or `-`) into 6 bytes; throws a labelled TypeError. */
export function macToBytes(mac: string): Uint8Array {
  const norm = mac.toLowerCase().replaceAll("-", ":");
  if (!MAC_TEXT.test(norm)) throw new TypeError("mac must look like aa:bb:cc:dd:ee:ff");
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(norm.slice(3 * i, 3 * i + 2), 16);
  return out;
}

/** Formats 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`, the one text form Veil stores. */
export function bytesToMac(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new DeviceCodecError("malformed", "a MAC address is 6 bytes");
  const h = (i: number): string => HEX2[bytes[i] ?? 0] ?? "00";
  return `${h(0)}:${h(1)}:${h(2)}:${h(3)}:${h(4)}:${h(5)}`;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes of an even-length hex string; throws a labelled TypeError on anything else. */
export function fromHex(hex: string, field = "hex"): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`${field} must be hex`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** A DataView over exactly `bytes`, for big-endian reads and writes. */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Concatenates byte arrays into a fresh Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Wraps a Buffer result of node:crypto/zlib as a plain Uint8Array view (no copy). */
export function u8(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
