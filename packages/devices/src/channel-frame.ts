/**
 * Frames of Veil's device channel (binary WebSocket messages). Layout (big-endian):
 *
 *   challenge (companion → device, plaintext): 01 | 02 | 00 | 00 | server random 16
 *   hello / data header, the AES-GCM additional data:
 *     0 version (1) | 1 direction (1 up, 2 down) | 2 kind (1 hello, 2 data) | 3 key type (1 site, 2 device)
 *     4 key id (8) | 12 device MAC (6) | 18 reserved (2, zero) | 20 counter u32
 *     24 client random (16, hello only)
 *   then ciphertext ‖ 16-byte tag.
 *
 * Nonce (96 bits) = direction ‖ 7 zero bytes ‖ counter u32: unique by construction because every
 * session derives fresh keys per direction (see channel-keys.ts) and a counter never repeats
 * under one key.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { bytesToMac, concatBytes, macToBytes, u8, view } from "./bytes";
import { check, DeviceCodecError } from "./errors";

/** Frame layout version. */
export const CHANNEL_FRAME_VERSION = 1;
/** Header bytes of a data frame. */
export const CHANNEL_HEADER_LENGTH = 24;
/** Header bytes of a hello frame (data header plus the client random). */
export const CHANNEL_HELLO_HEADER_LENGTH = 40;
/** Bytes of a challenge frame. */
export const CHANNEL_CHALLENGE_LENGTH = 20;
/** Largest plaintext in one frame: 256 KiB. */
export const CHANNEL_MAX_PLAINTEXT = 256 * 1024;
/** Largest frame accepted. */
export const CHANNEL_MAX_FRAME = CHANNEL_HELLO_HEADER_LENGTH + CHANNEL_MAX_PLAINTEXT + 16;

/** Direction byte: 1 device → companion, 2 companion → device. */
export const Direction = { UP: 1, DOWN: 2 } as const;
/** Frame kind byte. */
export const FrameKind = { CHALLENGE: 0, HELLO: 1, DATA: 2 } as const;
/** Key type byte: the shared site key or the device's own key. */
export const KeyType = { SITE: 1, DEVICE: 2 } as const;

/** A parsed frame header (not yet authenticated). */
export interface ChannelHeader {
  readonly direction: 1 | 2;
  readonly kind: 1 | 2;
  readonly keyType: 1 | 2;
  readonly keyId: Uint8Array;
  readonly mac: string;
  readonly counter: number;
  /** Present on hello frames only. */
  readonly clientRandom?: Uint8Array;
  /** The header bytes as sent (the GCM additional data). */
  readonly raw: Uint8Array;
}

/** Builds a challenge frame carrying the companion's 16-byte random. */
export function buildChallenge(serverRandom: Uint8Array): Uint8Array {
  if (serverRandom.length !== 16) throw new RangeError("serverRandom must be 16 bytes");
  return concatBytes(Uint8Array.of(CHANNEL_FRAME_VERSION, Direction.DOWN, FrameKind.CHALLENGE, 0), serverRandom);
}

/** Parses a challenge frame; returns the server random. */
export function parseChallenge(frame: Uint8Array): Uint8Array {
  check(frame.length === CHANNEL_CHALLENGE_LENGTH, "challenge frame has the wrong length");
  check(frame[0] === CHANNEL_FRAME_VERSION, "unknown channel frame version", "unsupported");
  check(frame[1] === Direction.DOWN && frame[2] === FrameKind.CHALLENGE && frame[3] === 0, "not a challenge frame");
  return frame.slice(4);
}

/** Header fields to build. */
export interface HeaderFields {
  direction: 1 | 2;
  kind: 1 | 2;
  keyType: 1 | 2;
  keyId: Uint8Array;
  mac: string;
  counter: number;
  clientRandom?: Uint8Array;
}

/** Builds a hello or data header. */
export function buildHeader(f: HeaderFields): Uint8Array {
  if (f.keyId.length !== 8) throw new RangeError("keyId must be 8 bytes");
  if (!Number.isInteger(f.counter) || f.counter < 0 || f.counter > 0xffffffff)
    throw new RangeError("counter must be a u32");
  const hello = f.kind === FrameKind.HELLO;
  if (hello !== (f.clientRandom !== undefined)) throw new TypeError("clientRandom is required on hello frames only");
  if (f.clientRandom !== undefined && f.clientRandom.length !== 16)
    throw new RangeError("clientRandom must be 16 bytes");
  const out = new Uint8Array(hello ? CHANNEL_HELLO_HEADER_LENGTH : CHANNEL_HEADER_LENGTH);
  out.set([CHANNEL_FRAME_VERSION, f.direction, f.kind, f.keyType], 0);
  out.set(f.keyId, 4);
  out.set(macToBytes(f.mac), 12);
  view(out).setUint32(20, f.counter);
  if (f.clientRandom) out.set(f.clientRandom, 24);
  return out;
}

/** Parses and bounds-checks a hello or data frame header; returns it and the sealed body. */
export function parseFrame(frame: Uint8Array): { header: ChannelHeader; body: Uint8Array } {
  if (!(frame instanceof Uint8Array)) throw new TypeError("frame must be a Uint8Array");
  check(frame.length <= CHANNEL_MAX_FRAME, "channel frame too large", "too_large");
  check(frame.length >= CHANNEL_HEADER_LENGTH + 16, "channel frame too short");
  check(frame[0] === CHANNEL_FRAME_VERSION, "unknown channel frame version", "unsupported");
  const direction = frame[1];
  const kind = frame[2];
  const keyType = frame[3];
  check(direction === 1 || direction === 2, "bad channel direction");
  check(kind === 1 || kind === 2, "bad channel frame kind");
  check(keyType === 1 || keyType === 2, "bad channel key type");
  check(frame[18] === 0 && frame[19] === 0, "reserved channel header bytes are not zero");
  const headerLength = kind === FrameKind.HELLO ? CHANNEL_HELLO_HEADER_LENGTH : CHANNEL_HEADER_LENGTH;
  check(frame.length >= headerLength + 16, "channel frame too short");
  const raw = frame.slice(0, headerLength);
  const header: ChannelHeader = {
    direction,
    kind,
    keyType,
    keyId: raw.slice(4, 12),
    mac: bytesToMac(raw.subarray(12, 18)),
    counter: view(raw).getUint32(20),
    raw,
    ...(kind === FrameKind.HELLO ? { clientRandom: raw.slice(24, 40) } : {}),
  };
  return { header, body: frame.subarray(headerLength) };
}

/** The 96-bit nonce for a direction and counter. */
export function channelNonce(direction: 1 | 2, counter: number): Uint8Array {
  const n = new Uint8Array(12);
  n[0] = direction;
  view(n).setUint32(8, counter);
  return n;
}

/** AES-256-GCM seal of `plaintext` under a session key with the header as additional data. */
export function sealFrame(
  key: Uint8Array,
  header: Uint8Array,
  direction: 1 | 2,
  counter: number,
  plaintext: Uint8Array,
): Uint8Array {
  if (plaintext.length > CHANNEL_MAX_PLAINTEXT) throw new DeviceCodecError("too_large", "channel message too large");
  const c = createCipheriv("aes-256-gcm", key, channelNonce(direction, counter), { authTagLength: 16 });
  c.setAAD(header);
  return concatBytes(header, u8(c.update(plaintext)), u8(c.final()), u8(c.getAuthTag()));
}

/** AES-256-GCM open; any failure is the opaque `auth_failed`. */
export function openFrame(key: Uint8Array, header: ChannelHeader, body: Uint8Array): Uint8Array {
  try {
    const d = createDecipheriv("aes-256-gcm", key, channelNonce(header.direction, header.counter), {
      authTagLength: 16,
    });
    d.setAAD(header.raw);
    d.setAuthTag(body.subarray(body.length - 16));
    return concatBytes(u8(d.update(body.subarray(0, body.length - 16))), u8(d.final()));
  } catch {
    throw DeviceCodecError.authFailed();
  }
}
