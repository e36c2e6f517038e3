/**
 * Whole UniFi inform packets: encode (compress → encrypt → header) and decode (header checks →
 * decrypt → decompress). Requests from devices and replies from the controller share the format.
 */
import { randomFillSync } from "node:crypto";
import { DeviceCodecError } from "./errors";
import {
  compressInform,
  decompressInform,
  INFORM_MAX_PLAINTEXT,
  INFORM_MAX_PLAINTEXT_AUTHENTICATED,
} from "./inform-compression";
import { decryptInform, encryptInform } from "./inform-cipher";
import { checkJsonBounds, INFORM_MAX_DEPTH, INFORM_MAX_TOKENS } from "./inform-json-bounds";
import {
  buildInformHeader,
  flagsFor,
  INFORM_HEADER_LENGTH,
  parseInformHeader,
  type InformCipher,
  type InformCompression,
  type InformHeader,
} from "./inform-header";

/** What to send in one inform packet. */
export interface EncodeInformOptions {
  /** MAC of the device the packet is from (request) or for (reply). */
  readonly mac: string;
  /** 16-byte key: the default key or the device's authkey. */
  readonly key: Uint8Array;
  /** Payload bytes, normally UTF-8 JSON. */
  readonly plaintext: Uint8Array;
  readonly cipher?: InformCipher;
  readonly compression?: InformCompression;
  /** 16-byte IV; random when omitted. Fixed only in known-answer tests. */
  readonly iv?: Uint8Array;
}

/** Random IVs are cut from a pool refilled 256 at a time (one RNG call per inform was 2 % of ingest). */
const ivPool = new Uint8Array(16 * 256);
let ivOffset = ivPool.length;

/** A fresh random 16-byte IV (a copy: the pool is refilled in place). */
function randomIv(): Uint8Array {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  ivOffset += 16;
  return ivPool.slice(ivOffset - 16, ivOffset);
}

const utf8 = new TextEncoder();
/** Fatal: a payload that is not valid UTF-8 is refused, not repaired. Stateless between calls. */
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Encodes a packet. Default GCM with zlib, the combination current firmware uses. */
export function encodeInformPacket(options: EncodeInformOptions): Uint8Array {
  const cipher = options.cipher ?? "gcm";
  const compression = options.compression ?? "zlib";
  if (options.plaintext.length > INFORM_MAX_PLAINTEXT_AUTHENTICATED)
    throw new DeviceCodecError("too_large", "inform plaintext too large");
  const iv = options.iv ?? randomIv();
  const body = compressInform(options.plaintext, compression);
  const flags = flagsFor(cipher, compression);
  const payloadLength = cipher === "gcm" ? body.length + 16 : (Math.floor(body.length / 16) + 1) * 16;
  const header = buildInformHeader(options.mac, flags, iv, payloadLength);
  const payload = encryptInform(cipher, options.key, iv, body, header);
  const out = new Uint8Array(INFORM_HEADER_LENGTH + payload.length);
  out.set(header, 0);
  out.set(payload, INFORM_HEADER_LENGTH);
  return out;
}

/** A decoded packet: its header and the decrypted, decompressed payload bytes. */
export interface DecodedInform {
  readonly header: InformHeader;
  readonly plaintext: Uint8Array;
}

/**
 * Decodes a packet with `key` (or with the key `key(mac)` returns). Throws only
 * DeviceCodecError; a wrong key is the opaque `auth_failed`.
 */
export function decodeInformPacket(
  packet: Uint8Array,
  key: Uint8Array | ((header: InformHeader) => Uint8Array),
  maxPlaintext = INFORM_MAX_PLAINTEXT,
): DecodedInform {
  const header = parseInformHeader(packet);
  const k = typeof key === "function" ? key(header) : key;
  const payload = packet.subarray(INFORM_HEADER_LENGTH);
  const body = decryptInform(header.cipher, k, header.iv, payload, header.raw);
  return { header, plaintext: decompressInform(body, header.compression, maxPlaintext) };
}

/** Encodes a JSON value as an inform packet. */
export function encodeInformJson(value: unknown, options: Omit<EncodeInformOptions, "plaintext">): Uint8Array {
  return encodeInformPacket({ ...options, plaintext: utf8.encode(JSON.stringify(value)) });
}

/**
 * Parses a decoded payload as JSON (`unknown`: validate it with the zod schemas of
 * @veil/protocol before use). A payload nesting deeper than INFORM_MAX_DEPTH or holding more
 * than INFORM_MAX_TOKENS tokens is `too_large`, refused before JSON.parse runs; bad UTF-8 or
 * JSON is `malformed`.
 */
export function parseInformJson(plaintext: Uint8Array, maxTokens = INFORM_MAX_TOKENS): unknown {
  checkJsonBounds(plaintext, INFORM_MAX_DEPTH, maxTokens);
  try {
    return JSON.parse(utf8Strict.decode(plaintext)) as unknown;
  } catch {
    throw new DeviceCodecError("malformed", "inform payload is not UTF-8 JSON");
  }
}

/** Decodes a packet and parses its payload as JSON ({@link parseInformJson}). */
export function decodeInformJson(
  packet: Uint8Array,
  key: Uint8Array | ((header: InformHeader) => Uint8Array),
): { header: InformHeader; json: unknown } {
  const { header, plaintext } = decodeInformPacket(packet, key);
  return { header, json: parseInformJson(plaintext) };
}
