/**
 * The wrapped-key envelope, encoded and parsed here and nowhere else:
 *
 *   version u8 (=1) ‖ alg u8 (=1: XChaCha20-Poly1305) ‖ nonce (24) ‖ ciphertext ‖ tag (16)
 *
 * The parser rejects unknown versions and algorithms and anything too short, always with the
 * one opaque DecryptError: a tampered envelope is indistinguishable from a wrong key.
 */
import { ByteReader, concat, u8 } from "./encoding";
import { DecryptError, assertBytes } from "./errors";

/** Current envelope version. */
export const ENVELOPE_VERSION = 1;
/** Algorithm id 1: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03). */
export const ALG_XCHACHA20_POLY1305 = 1;
/** Nonce length for algorithm 1. */
export const ENVELOPE_NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
/** Smallest valid envelope: header, nonce and tag over an empty plaintext. */
export const ENVELOPE_MIN_LENGTH: number = 2 + ENVELOPE_NONCE_LENGTH + TAG_LENGTH;

/** The parsed fields of an envelope. */
export interface Envelope {
  readonly version: number;
  readonly alg: number;
  readonly nonce: Uint8Array;
  /** Ciphertext ‖ tag. */
  readonly sealed: Uint8Array;
}

/** Encodes an envelope (version and alg fixed to the current ones). */
export function encodeEnvelope(nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  assertBytes(nonce, "nonce", ENVELOPE_NONCE_LENGTH);
  assertBytes(sealed, "sealed");
  if (sealed.length < TAG_LENGTH) throw new RangeError(`sealed must be at least ${TAG_LENGTH} bytes`);
  return concat(u8(ENVELOPE_VERSION), u8(ALG_XCHACHA20_POLY1305), nonce, sealed);
}

/** The single envelope parser. Throws DecryptError for anything that is not a valid v1 envelope. */
export function parseEnvelope(bytes: Uint8Array): Envelope {
  assertBytes(bytes, "envelope");
  if (bytes.length < ENVELOPE_MIN_LENGTH) throw new DecryptError();
  const r = new ByteReader(bytes);
  const version = r.u8();
  const alg = r.u8();
  if (version !== ENVELOPE_VERSION || alg !== ALG_XCHACHA20_POLY1305) throw new DecryptError();
  const nonce = r.take(ENVELOPE_NONCE_LENGTH);
  return { version, alg, nonce, sealed: r.rest() };
}
