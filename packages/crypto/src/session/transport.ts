/**
 * Transport frames of an established session (docs/PROTOCOL-SESSION.md, "Frames"):
 *
 *   version u8 (= 1) ‖ counter u64 big-endian ‖ ChaChaPoly ciphertext ‖ 16-byte tag
 *
 * The counter is the Noise nonce n of the sending CipherState (§5.1), sent in clear so the
 * receiver can classify a frame before touching the AEAD; the 9-byte header is the AEAD's
 * associated data, so version and counter are authenticated. The receiver accepts only
 * counter == next expected: a lower counter is a replay or reorder, a higher one a gap, an
 * expected counter with a bad tag a forgery. A frame reflected back to its sender is refused
 * by the same checks: as a replay or gap by its counter, or, when its counter happens to be
 * the expected one, as a forgery, because each direction has its own key (§5.2 Split()).
 * A rejected frame changes no state.
 *
 * Rekey (§11.3): both ends call Rekey() on a direction's CipherState right before the frame
 * whose counter is a positive multiple of `rekeyInterval`. The schedule is a function of the
 * counter alone, so no signalling is needed and both ends stay in step; old keys are wiped,
 * which gives forward secrecy inside a long session.
 */
import { NoiseError, NOISE_MAX_MESSAGE, NOISE_TAG_LEN } from "./cipher-state";
import {
  SessionClosedError,
  SessionExhaustedError,
  SessionForgeryError,
  SessionFrameError,
  SessionGapError,
  SessionReplayError,
  SessionVersionError,
} from "./errors";
import type { CipherState } from "./cipher-state";
import { assertBytes, assertBytesMax, assertInteger } from "./validate";

/** Version byte of every transport frame this implementation writes and reads. */
export const SESSION_FRAME_VERSION = 1;
/** Header length: version (1) + counter (8). */
export const SESSION_FRAME_HEADER_LEN = 9;
/** Largest plaintext per frame: a Noise message is at most 65535 bytes including the tag (§3). */
export const SESSION_MAX_PLAINTEXT: number = NOISE_MAX_MESSAGE - NOISE_TAG_LEN;
/** Largest frame: header + 65535-byte Noise message. */
export const SESSION_MAX_FRAME: number = SESSION_FRAME_HEADER_LEN + NOISE_MAX_MESSAGE;
/** Default rekey interval in frames per direction (§11.3); both ends must use the same value. */
export const SESSION_DEFAULT_REKEY_INTERVAL = 65_536;
/** Largest accepted rekey interval. */
export const SESSION_MAX_REKEY_INTERVAL: number = 2 ** 32;

/** Which side of the handshake this end was. */
export type SessionRole = "initiator" | "responder";

/** Internal constructor input of {@link Session}; only the handshake functions build one. */
export interface SessionInit {
  role: SessionRole;
  send: CipherState;
  receive: CipherState;
  handshakeHash: Uint8Array;
  remoteStaticKey: Uint8Array;
  rekeyInterval?: number;
}

/**
 * An established end-to-end session: seals and opens transport frames in one direction each.
 * Made by the handshake functions of this module, never directly.
 */
export class Session {
  /** "initiator" (browser) or "responder" (companion). */
  readonly role: SessionRole;
  /** Frames per direction between two Rekey() calls (§11.3). */
  readonly rekeyInterval: number;
  readonly #handshakeHash: Uint8Array;
  readonly #remoteStaticKey: Uint8Array;
  readonly #send: CipherState;
  #receive: CipherState;
  #closed = false;

  constructor(init: SessionInit) {
    this.role = init.role;
    this.rekeyInterval = assertInteger(
      init.rekeyInterval ?? SESSION_DEFAULT_REKEY_INTERVAL,
      1,
      SESSION_MAX_REKEY_INTERVAL,
      "rekeyInterval",
    );
    this.#send = init.send;
    this.#receive = init.receive;
    this.#handshakeHash = init.handshakeHash.slice();
    this.#remoteStaticKey = init.remoteStaticKey.slice();
  }

  /** The handshake hash h (Noise §11.2): a unique id of this session, for channel binding. */
  get handshakeHash(): Uint8Array {
    return this.#handshakeHash.slice();
  }

  /** The peer's static X25519 public key the handshake authenticated. */
  get remoteStaticKey(): Uint8Array {
    return this.#remoteStaticKey.slice();
  }

  /** Counter the next sealed frame will carry. */
  get sendCounter(): bigint {
    return this.#send.nonce;
  }

  /** Counter the next accepted frame must carry. */
  get receiveCounter(): bigint {
    return this.#receive.nonce;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether a frame with counter high · 2^32 + low is a positive multiple of the rekey interval.
   * Below 2^32, as every session of this world stays, in numbers; above, in bigints.
   */
  #rekeyDue(high: number, low: number): boolean {
    if (high === 0) return low > 0 && low % this.rekeyInterval === 0;
    return counterOf(high, low) % BigInt(this.rekeyInterval) === 0n;
  }

  /**
   * Encrypts one message into a frame. Throws a RangeError above {@link SESSION_MAX_PLAINTEXT}
   * bytes, SessionExhaustedError once the counter reaches 2^64-1 (reserved, Noise §5.1) and
   * SessionClosedError after close().
   */
  seal(plaintext: Uint8Array): Uint8Array {
    if (this.#closed) throw new SessionClosedError();
    assertBytesMax(plaintext, SESSION_MAX_PLAINTEXT, "plaintext");
    const high = this.#send.nonceHigh;
    const low = this.#send.nonceLow;
    if (this.#send.exhausted) throw new SessionExhaustedError();
    if (this.#rekeyDue(high, low)) this.#send.rekey();
    const frame = new Uint8Array(SESSION_FRAME_HEADER_LEN + plaintext.length + NOISE_TAG_LEN);
    frame[0] = SESSION_FRAME_VERSION;
    writeU32BE(frame, 1, high);
    writeU32BE(frame, 5, low);
    frame.set(
      this.#send.encryptWithAd(frame.subarray(0, SESSION_FRAME_HEADER_LEN), plaintext),
      SESSION_FRAME_HEADER_LEN,
    );
    return frame;
  }

  /**
   * Decrypts the next frame. Checks, in order and before any decryption: closed, length,
   * version, counter (below expected: SessionReplayError; above: SessionGapError); then the tag
   * (SessionForgeryError). Any failure leaves the session exactly as it was.
   */
  open(frame: Uint8Array): Uint8Array {
    if (this.#closed) throw new SessionClosedError();
    assertBytes(frame, "frame");
    if (frame.length < SESSION_FRAME_HEADER_LEN + NOISE_TAG_LEN)
      throw new SessionFrameError("session frame is too short");
    if (frame.length > SESSION_MAX_FRAME) throw new SessionFrameError("session frame is too long");
    const version = frame[0] as number;
    if (version !== SESSION_FRAME_VERSION) throw new SessionVersionError(version);
    const high = readU32BE(frame, 1);
    const low = readU32BE(frame, 5);
    if (high !== this.#receive.nonceHigh || low !== this.#receive.nonceLow) {
      const counter = counterOf(high, low);
      const expected = this.#receive.nonce;
      throw counter < expected ? new SessionReplayError(expected, counter) : new SessionGapError(expected, counter);
    }
    // The frame's counter is the receiving nonce now.
    if (this.#receive.exhausted) throw new SessionExhaustedError();
    // Rekey a copy first, so a forged frame at a rekey boundary cannot advance the key.
    const cipher = this.#rekeyDue(high, low) ? this.#receive.clone() : this.#receive;
    if (cipher !== this.#receive) cipher.rekey();
    let plaintext: Uint8Array;
    try {
      plaintext = cipher.decryptWithAd(
        frame.subarray(0, SESSION_FRAME_HEADER_LEN),
        frame.subarray(SESSION_FRAME_HEADER_LEN),
      );
    } catch (error) {
      if (cipher !== this.#receive) cipher.wipe();
      if (error instanceof NoiseError && error.code === "decrypt") throw new SessionForgeryError();
      throw error;
    }
    if (cipher !== this.#receive) {
      this.#receive.wipe();
      this.#receive = cipher;
    }
    return plaintext;
  }

  /** Wipes both directions' keys; every later seal()/open() throws SessionClosedError. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#send.wipe();
    this.#receive.wipe();
  }
}

// The counter travels as a u64 big-endian, read and written as two 32-bit halves byte by byte:
// a DataView would need `frame.buffer`, which makes V8 move a small typed array out of its heap.

/** The counter high · 2^32 + low as a bigint (for errors and the rare counter above 2^32). */
function counterOf(high: number, low: number): bigint {
  return (BigInt(high) << 32n) | BigInt(low);
}

function writeU32BE(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

function readU32BE(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)) >>>
    0
  );
}
