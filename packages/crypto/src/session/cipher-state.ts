/**
 * Noise CipherState (noiseprotocol.org/noise.html rev 34, §5.1) over ChaChaPoly (§12.3):
 * a 32-byte key k and a 64-bit nonce n; the 96-bit AEAD nonce is 4 zero bytes followed by n as
 * a 64-bit little-endian integer. Nonce 2^64-1 is reserved for Rekey() (§4.2, §11.3).
 */
import type { Primitives } from "../primitives/types";
import { assertBytes, assertBytesLength, wipe } from "./validate";

/** The AEAD operations a CipherState needs. */
export type NoiseAead = Pick<Primitives, "chacha20poly1305Seal" | "chacha20poly1305Open">;

/** Cipher key length in bytes (§5.1). */
export const NOISE_KEY_LEN = 32;
/** AEAD tag length in bytes (§4.2). */
export const NOISE_TAG_LEN = 16;
/** Maximum Noise message length in bytes (§3). */
export const NOISE_MAX_MESSAGE = 65535;
/** The reserved nonce 2^64-1: never used for a message (§5.1), only by Rekey() (§11.3). */
export const NOISE_MAX_NONCE: bigint = (1n << 64n) - 1n;

/** Failure classes of the Noise layer. */
export type NoiseErrorCode =
  "decrypt" | "invalid_dh" | "nonce_exhausted" | "message_too_long" | "message_too_short" | "state";

/** A Noise-layer failure; the session layer maps it to a {@link SessionError}. */
export class NoiseError extends Error {
  /** Failure class. */
  readonly code: NoiseErrorCode;
  constructor(code: NoiseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NoiseError";
    this.code = code;
  }
}

/** The ChaChaPoly nonce of §12.3: 32 zero bits then n little-endian. */
export function chachaPolyNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  writeNonce(nonce, Number(n >> 32n), Number(n & 0xffffffffn));
  return nonce;
}

/** The two 32-bit halves of a 64-bit nonce each go up to this. */
const NONCE_HALF_MAX = 0xffff_ffff;

/**
 * Writes the nonce n = high · 2^32 + low into bytes 4..11 of `nonce`, little-endian (bytes 0..3
 * stay zero). Byte by byte: a DataView would need `nonce.buffer`, which makes V8 move a small
 * typed array out of its heap first; that took four times as long as these lines, once per frame.
 */
function writeNonce(nonce: Uint8Array, high: number, low: number): void {
  for (let i = 0; i < 4; i++) {
    nonce[4 + i] = (low >>> (8 * i)) & 0xff;
    nonce[8 + i] = (high >>> (8 * i)) & 0xff;
  }
}

/** CipherState (§5.1). Holds its own copy of the key; `wipe()` zeroes it. */
export class CipherState {
  readonly #aead: NoiseAead;
  #k: Uint8Array | null = null;
  // The nonce n as its two 32-bit halves, n = high · 2^32 + low: numbers, so that counting
  // messages allocates nothing (bigint arithmetic allocates at every step).
  #high = 0;
  #low = 0;
  /** The ChaChaPoly nonce of n, rewritten for each message (the AEADs read it and keep nothing). */
  readonly #nonceBytes = new Uint8Array(12);
  #wiped = false;

  constructor(aead: NoiseAead) {
    this.#aead = aead;
  }

  /** InitializeKey(key): sets k (copied) and n = 0; `null` means "empty". */
  initializeKey(key: Uint8Array | null): void {
    this.#checkNotWiped();
    wipe(this.#k);
    this.#k = key === null ? null : assertBytesLength(key, NOISE_KEY_LEN, "key").slice();
    this.#high = 0;
    this.#low = 0;
  }

  /** HasKey(). */
  hasKey(): boolean {
    return this.#k !== null;
  }

  /** The nonce the next EncryptWithAd()/DecryptWithAd() will use. */
  get nonce(): bigint {
    return (BigInt(this.#high) << 32n) | BigInt(this.#low);
  }

  /** The high 32 bits of `nonce`, as a number. */
  get nonceHigh(): number {
    return this.#high;
  }

  /** The low 32 bits of `nonce`, as a number. */
  get nonceLow(): number {
    return this.#low;
  }

  /** Whether n is 2^64-1, the reserved nonce no message may use (§5.1). */
  get exhausted(): boolean {
    return this.#high === NONCE_HALF_MAX && this.#low === NONCE_HALF_MAX;
  }

  /** SetNonce(nonce) (§5.1): for out-of-band nonce management; 0 ≤ n ≤ 2^64-1. */
  setNonce(n: bigint): void {
    if (typeof n !== "bigint") throw new TypeError("nonce must be a bigint");
    if (n < 0n || n > NOISE_MAX_NONCE) throw new RangeError("nonce must be between 0 and 2^64-1");
    this.#high = Number(n >> 32n);
    this.#low = Number(n & 0xffffffffn);
  }

  /** EncryptWithAd(ad, plaintext): identity without a key; errors once n reaches 2^64-1. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.#checkNotWiped();
    assertBytes(ad, "ad");
    assertBytes(plaintext, "plaintext");
    if (this.#k === null) return plaintext.slice();
    if (this.exhausted) throw new NoiseError("nonce_exhausted", "nonce 2^64-1 is reserved");
    const out = this.#aead.chacha20poly1305Seal(this.#k, this.#nonceOfN(), plaintext, ad);
    this.#advance();
    return out;
  }

  /** DecryptWithAd(ad, ciphertext): on a bad tag n is not incremented (§5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.#checkNotWiped();
    assertBytes(ad, "ad");
    assertBytes(ciphertext, "ciphertext");
    if (this.#k === null) return ciphertext.slice();
    if (this.exhausted) throw new NoiseError("nonce_exhausted", "nonce 2^64-1 is reserved");
    if (ciphertext.length < NOISE_TAG_LEN) throw new NoiseError("decrypt", "ciphertext shorter than the tag");
    let out: Uint8Array;
    try {
      out = this.#aead.chacha20poly1305Open(this.#k, this.#nonceOfN(), ciphertext, ad);
    } catch (cause) {
      throw new NoiseError("decrypt", "authentication failed", { cause });
    }
    this.#advance();
    return out;
  }

  /** Rekey() (§4.2, §11.3): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros(32)); n unchanged. */
  rekey(): void {
    this.#checkNotWiped();
    if (this.#k === null) throw new NoiseError("state", "cannot rekey an empty CipherState");
    const zeros = new Uint8Array(NOISE_KEY_LEN);
    const sealed = this.#aead.chacha20poly1305Seal(this.#k, chachaPolyNonce(NOISE_MAX_NONCE), zeros, new Uint8Array(0));
    wipe(this.#k);
    this.#k = sealed.slice(0, NOISE_KEY_LEN);
    wipe(sealed);
  }

  /** An independent copy (key and nonce), so a caller can try a step and commit only on success. */
  clone(): CipherState {
    this.#checkNotWiped();
    const copy = new CipherState(this.#aead);
    copy.initializeKey(this.#k);
    copy.#high = this.#high;
    copy.#low = this.#low;
    return copy;
  }

  /** Zeroes the key; every later call throws (a wiped state must never act as "no key"). */
  wipe(): void {
    wipe(this.#k);
    this.#k = null;
    this.#wiped = true;
  }

  /** n += 1 (callers check `exhausted` first, so n stays below 2^64). */
  #advance(): void {
    if (this.#low === NONCE_HALF_MAX) {
      this.#low = 0;
      this.#high += 1;
    } else this.#low += 1;
  }

  /** The ChaChaPoly nonce of n (§12.3). */
  #nonceOfN(): Uint8Array {
    writeNonce(this.#nonceBytes, this.#high, this.#low);
    return this.#nonceBytes;
  }

  #checkNotWiped(): void {
    if (this.#wiped) throw new NoiseError("state", "CipherState was wiped");
  }
}
