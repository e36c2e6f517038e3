/**
 * Byte encodings: hex, base64url, UTF-8, concatenation, big-endian integers and
 * length-prefixed fields. Pure functions; every decoder validates its input strictly (no
 * silently ignored characters), so one byte string has exactly one text form.
 */
import { assertBytes, assertInteger, describe, isBytes } from "./errors";

const HEX = "0123456789abcdef";

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, "bytes");
  let out = "";
  for (const b of bytes) out += (HEX[b >> 4] ?? "") + (HEX[b & 15] ?? "");
  return out;
}

/** Parses hex (either case, even length, no prefix or separators). */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string") throw new TypeError(`hex must be a string, got ${describe(hex)}`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new RangeError("hex must be an even-length string of hex digits");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Char code → sextet, 255 for anything outside the base64url alphabet. */
const B64URL_INDEX = new Uint8Array(128).fill(255);
for (let i = 0; i < B64URL.length; i++) B64URL_INDEX[B64URL.charCodeAt(i)] = i;
/** Pairs of base64url characters for every 12-bit value: one lookup per two output characters. */
const B64URL_PAIRS: string[] = [];
for (let i = 0; i < 4096; i++) B64URL_PAIRS.push((B64URL[i >> 6] ?? "") + (B64URL[i & 63] ?? ""));

/**
 * The platform's own base64: `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` (TC39,
 * in current browsers) or Node's Buffer; the portable code below where there is neither. The
 * native paths give the same text and accept exactly the same inputs (checked against the
 * portable ones by test/encoding-native.test.ts, in Node and in Chromium, crypto-browser project):
 * the alphabet and the trailing bits are checked here first, since native decoders skip
 * whitespace and may ignore trailing bits.
 */
interface NativeBase64 {
  toBase64?: (this: Uint8Array, options: { alphabet: "base64url"; omitPadding: true }) => string;
}
const nativeToBase64 = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFromBase64 = (
  Uint8Array as { fromBase64?: (text: string, options: { alphabet: "base64url" }) => Uint8Array }
).fromBase64;
interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: "base64url"): string };
  from(text: string, encoding: "base64url"): Uint8Array;
}
const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;
const B64URL_TEXT = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url (RFC 4648 §5) of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
  assertBytes(bytes, "bytes");
  if (nativeToBase64) return nativeToBase64.call(bytes, { alphabet: "base64url", omitPadding: true });
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
  return portableToBase64Url(bytes);
}

/** `toBase64Url` in plain JavaScript (exported for the tests that compare it with the native paths). */
export function portableToBase64Url(bytes: Uint8Array): string {
  assertBytes(bytes, "bytes");
  let out = "";
  let i = 0;
  const whole = bytes.length - (bytes.length % 3);
  for (; i < whole; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += (B64URL_PAIRS[n >> 12] ?? "") + (B64URL_PAIRS[n & 4095] ?? "");
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    out += B64URL_PAIRS[(bytes[i] ?? 0) << 4] ?? "";
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
    out += (B64URL_PAIRS[n >> 4] ?? "") + (B64URL[(n & 15) << 2] ?? "");
  }
  return out;
}

/** The sextet of `text[i]`, or 255 when it is not a base64url character. */
function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? (B64URL_INDEX[c] ?? 255) : 255;
}

/**
 * Parses unpadded base64url. Rejects padding, other alphabets, whitespace and non-canonical
 * trailing bits (RFC 4648 §3.5), so each byte string has exactly one encoding.
 */
export function fromBase64Url(text: string): Uint8Array {
  if (!nativeFromBase64 && !NodeBuffer) return portableFromBase64Url(text);
  if (typeof text !== "string") throw new TypeError(`base64url must be a string, got ${describe(text)}`);
  const tail = text.length % 4;
  if (tail === 1 || !B64URL_TEXT.test(text)) throw new RangeError("base64url is malformed");
  // The bits of the last character that encode no byte: 4 of them after one byte, 2 after two.
  const last = tail === 0 ? 0 : sextet(text, text.length - 1);
  if ((tail === 2 && (last & 15) !== 0) || (tail === 3 && (last & 3) !== 0))
    throw new RangeError("base64url has non-zero trailing bits");
  if (nativeFromBase64) return nativeFromBase64(text, { alphabet: "base64url" });
  // A copy: Buffer.from may hand out a slice of Node's shared pool.
  return new Uint8Array((NodeBuffer as NodeBufferClass).from(text, "base64url"));
}

/** `fromBase64Url` in plain JavaScript (exported for the tests that compare it with the native paths). */
export function portableFromBase64Url(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`base64url must be a string, got ${describe(text)}`);
  const tail = text.length % 4;
  if (tail === 1) throw new RangeError("base64url is malformed");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  const whole = text.length - tail;
  let o = 0;
  let bad = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    bad |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 0xff;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (tail === 2) {
    const a = sextet(text, whole);
    const b = sextet(text, whole + 1);
    bad |= a | b;
    if ((b & 15) !== 0 && b !== 255) throw new RangeError("base64url has non-zero trailing bits");
    out[o] = ((a << 2) | (b >> 4)) & 0xff;
  } else if (tail === 3) {
    const a = sextet(text, whole);
    const b = sextet(text, whole + 1);
    const c = sextet(text, whole + 2);
    bad |= a | b | c;
    if ((c & 3) !== 0 && c !== 255) throw new RangeError("base64url has non-zero trailing bits");
    const n = (a << 12) | (b << 6) | c;
    out[o] = (n >> 10) & 0xff;
    out[o + 1] = (n >> 2) & 0xff;
  }
  // 255 is the only table value with bit 7 set: any character outside the alphabet sets it.
  if (bad & 128) throw new RangeError("base64url is malformed");
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 encoding of `text`. Lone surrogates are rejected (they have no UTF-8 form). */
export function utf8(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError(`text must be a string, got ${describe(text)}`);
  if (!isWellFormed(text)) throw new RangeError("text contains a lone surrogate");
  return encoder.encode(text);
}

/** Strict UTF-8 decoding: invalid sequences throw a RangeError. */
export function fromUtf8(bytes: Uint8Array): string {
  assertBytes(bytes, "bytes");
  try {
    return decoder.decode(bytes);
  } catch {
    throw new RangeError("bytes are not valid UTF-8");
  }
}

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** True unless `text` contains a lone UTF-16 surrogate. */
export function isWellFormed(text: string): boolean {
  if (nativeIsWellFormed) return nativeIsWellFormed.call(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** Concatenation of byte arrays into a fresh array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const [i, p] of parts.entries()) {
    assertBytes(p, `parts[${i}]`);
    length += p.length;
  }
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One byte. */
export function u8(value: number): Uint8Array {
  assertInteger(value, "value", 0, 0xff);
  return Uint8Array.of(value);
}

/** Big-endian 16-bit integer (I2OSP(value, 2), RFC 8017 §4.1). */
export function u16be(value: number): Uint8Array {
  assertInteger(value, "value", 0, 0xffff);
  return Uint8Array.of(value >>> 8, value & 0xff);
}

/** Big-endian 32-bit integer. */
export function u32be(value: number): Uint8Array {
  assertInteger(value, "value", 0, 0xffffffff);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/** Big-endian 64-bit integer from a safe integer or a bigint in [0, 2^64). */
export function u64be(value: number | bigint): Uint8Array {
  const v = typeof value === "bigint" ? value : BigInt(value);
  if (typeof value === "number") assertInteger(value, "value", 0, Number.MAX_SAFE_INTEGER);
  else if (typeof value !== "bigint") throw new TypeError(`value must be a number or bigint, got ${describe(value)}`);
  if (v < 0n || v >= 1n << 64n) throw new RangeError("value must be in [0, 2^64)");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** Reads a big-endian 32-bit integer at `offset`. */
export function readU32be(bytes: Uint8Array, offset = 0): number {
  assertBytes(bytes, "bytes");
  assertInteger(offset, "offset", 0, Math.max(0, bytes.length - 4));
  if (bytes.length < offset + 4) throw new RangeError("bytes too short for a u32");
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(offset, false);
}

/** Reads a big-endian 64-bit integer at `offset` as a bigint. */
export function readU64be(bytes: Uint8Array, offset = 0): bigint {
  assertBytes(bytes, "bytes");
  assertInteger(offset, "offset", 0, Math.max(0, bytes.length - 8));
  if (bytes.length < offset + 8) throw new RangeError("bytes too short for a u64");
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(offset, false);
}

/**
 * Length-prefixed field: u32 big-endian length ‖ bytes (strings are UTF-8 encoded first).
 * Used to build unambiguous AAD and signed transcripts: no two different field lists encode to
 * the same bytes.
 */
export function lengthPrefixed(field: Uint8Array | string): Uint8Array {
  const bytes = typeof field === "string" ? utf8(field) : field;
  if (!isBytes(bytes)) throw new TypeError(`field must be a Uint8Array or string, got ${describe(field)}`);
  return concat(u32be(bytes.length), bytes);
}

/**
 * A cursor over a byte string for the package's binary parsers. Every read is bounds-checked
 * and returns a copy; a read past the end throws `RangeError("truncated")`, which parsers turn
 * into their own opaque error.
 */
export class ByteReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {
    assertBytes(bytes, "bytes");
  }
  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  /** Reads `length` bytes. */
  take(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0 || length > this.remaining) throw new RangeError("truncated");
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
  /** Reads one byte. */
  u8(): number {
    return this.take(1)[0] ?? 0;
  }
  /** Reads a big-endian u16. */
  u16(): number {
    const b = this.take(2);
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  }
  /** Reads a big-endian u32. */
  u32(): number {
    return readU32be(this.take(4));
  }
  /** Reads everything left. */
  rest(): Uint8Array {
    return this.take(this.remaining);
  }
}
