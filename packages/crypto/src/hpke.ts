/**
 * HPKE (RFC 9180) with one fixed suite: DHKEM(X25519, HKDF-SHA256) (kem 0x0020), HKDF-SHA256
 * (kdf 0x0001), ChaCha20-Poly1305 (aead 0x0003). Modes base, psk, auth and auth_psk
 * (RFC 9180 §5.1), single-shot seal/open (§6.1) and the secret exporter (§5.3).
 * Built on `getPrimitives()` only: HKDF Extract/Expand are written over HMAC-SHA256 because
 * HPKE's labelled variants need them separately (RFC 5869 §2.2, §2.3).
 */
import { concat, u16be, utf8 } from "./encoding";
import { DecryptError, assertBytes, assertBytesRange, describe } from "./errors";
import type { BoxKeyPair, BoxPrivateKey, BoxPublicKey } from "./keys";
import { getPrimitives } from "./primitives/index";
import { randomBytes, wipe } from "./random";

/** HPKE modes (RFC 9180 §5, Table 1). */
export const HPKE_MODE: Readonly<{ base: 0; psk: 1; auth: 2; authPsk: 3 }> = Object.freeze({
  base: 0,
  psk: 1,
  auth: 2,
  authPsk: 3,
});
/** One of the HPKE mode numbers. */
export type HpkeMode = 0 | 1 | 2 | 3;

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const N_SECRET = 32;
const N_K = 32;
const N_N = 12;
const N_H = 32;
const MAX_INFO = 64 * 1024;
const MAX_EXPORT = 255 * N_H;

const HPKE_V1 = utf8("HPKE-v1");
const KEM_SUITE = concat(utf8("KEM"), u16be(KEM_ID));
const HPKE_SUITE = concat(utf8("HPKE"), u16be(KEM_ID), u16be(KDF_ID), u16be(AEAD_ID));
const EMPTY = new Uint8Array(0);

function extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  // RFC 5869 §2.2: an empty salt is HashLen zero bytes, which HMAC treats identically.
  return getPrimitives().hmacSha256(salt, ikm);
}

function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const p = getPrimitives();
  const out = new Uint8Array(length);
  let t: Uint8Array = EMPTY;
  for (let i = 1, o = 0; o < length; i++) {
    t = p.hmacSha256(prk, concat(t, info, Uint8Array.of(i)));
    out.set(t.subarray(0, Math.min(N_H, length - o)), o);
    o += N_H;
  }
  return out;
}

/** LabeledExtract (RFC 9180 §4). */
function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(salt, concat(HPKE_V1, suite, utf8(label), ikm));
}

/** LabeledExpand (RFC 9180 §4). */
function labeledExpand(
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return expand(prk, concat(u16be(length), HPKE_V1, suite, utf8(label), info), length);
}

function isZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/** DH(sk, pk) that reports a low-order peer (all-zero output, RFC 9180 §7.1.4) as null. */
function dh(sk: Uint8Array, pk: Uint8Array): Uint8Array | null {
  const out = getPrimitives().x25519(sk, pk);
  return isZero(out) ? null : out;
}

/** ExtractAndExpand (RFC 9180 §4.1). */
function extractAndExpand(dhValue: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dhValue);
  const ss = labeledExpand(KEM_SUITE, prk, "shared_secret", kemContext, N_SECRET);
  wipe(prk);
  return ss;
}

/** DeriveKeyPair for X25519 (RFC 9180 §7.1.3): a deterministic box key pair from ≥ 32 bytes of input keying material. */
export function deriveHpkeKeyPair(ikm: Uint8Array): { privateKey: BoxPrivateKey; publicKey: BoxPublicKey } {
  assertBytesRange(ikm, "ikm", 32, 1024);
  const prk = labeledExtract(KEM_SUITE, EMPTY, "dkp_prk", ikm);
  const sk = labeledExpand(KEM_SUITE, prk, "sk", EMPTY, 32);
  wipe(prk);
  return { privateKey: sk as BoxPrivateKey, publicKey: getPrimitives().x25519PublicKey(sk) as BoxPublicKey };
}

interface KeySchedule {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

/** KeySchedule (RFC 9180 §5.1). */
function keySchedule(
  mode: HpkeMode,
  sharedSecret: Uint8Array,
  info: Uint8Array,
  psk: Uint8Array,
  pskId: Uint8Array,
): KeySchedule {
  const pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", pskId);
  const infoHash = labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const context = concat(Uint8Array.of(mode), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, "secret", psk);
  const ks = {
    key: labeledExpand(HPKE_SUITE, secret, "key", context, N_K),
    baseNonce: labeledExpand(HPKE_SUITE, secret, "base_nonce", context, N_N),
    exporterSecret: labeledExpand(HPKE_SUITE, secret, "exp", context, N_H),
  };
  wipe(secret);
  return ks;
}

/** Common inputs of the sender and receiver set-ups. */
export interface HpkeOptions {
  /** Application info bound into the key schedule (≤ 64 KiB). Default empty. */
  readonly info?: Uint8Array;
  /** Pre-shared key (≥ 32 bytes, RFC 9180 §9.5) for psk / auth_psk modes; needs `pskId`. */
  readonly psk?: Uint8Array;
  /** Identifier of `psk`. */
  readonly pskId?: Uint8Array;
}

/** Inputs to set up a sending context. */
export interface HpkeSenderOptions extends HpkeOptions {
  readonly recipientPublicKey: BoxPublicKey;
  /** The sender's static box key pair: selects auth (or auth_psk) mode. */
  readonly sender?: BoxKeyPair;
}

/** Inputs to set up a receiving context. */
export interface HpkeReceiverOptions extends HpkeOptions {
  /** The encapsulated key from the sender. */
  readonly enc: Uint8Array;
  readonly recipientPrivateKey: BoxPrivateKey;
  /** The expected sender's static public key: selects auth (or auth_psk) mode. */
  readonly senderPublicKey?: BoxPublicKey;
}

function checkOptions(o: HpkeOptions): { info: Uint8Array; psk: Uint8Array; pskId: Uint8Array; hasPsk: boolean } {
  if (typeof o !== "object" || o === null) throw new TypeError(`options must be an object, got ${describe(o)}`);
  const info = o.info ?? EMPTY;
  assertBytesRange(info, "info", 0, MAX_INFO);
  // RFC 9180 §5.1.1 VerifyPSKInputs: both or neither.
  if ((o.psk === undefined) !== (o.pskId === undefined)) throw new TypeError("psk and pskId must be given together");
  if (o.psk !== undefined) assertBytesRange(o.psk, "psk", 32, 1024);
  if (o.pskId !== undefined) assertBytesRange(o.pskId, "pskId", 1, 1024);
  return { info, psk: o.psk ?? EMPTY, pskId: o.pskId ?? EMPTY, hasPsk: o.psk !== undefined };
}

function modeOf(auth: boolean, psk: boolean): HpkeMode {
  return auth ? (psk ? 3 : 2) : psk ? 1 : 0;
}

class Context {
  private seq = 0;
  private destroyed = false;
  constructor(private readonly ks: KeySchedule) {}
  /** Throws once `destroy()` has run: a wiped context would seal under an all-zero key (review finding 5). */
  protected assertLive(): void {
    if (this.destroyed) throw new Error("HPKE context was destroyed");
  }
  protected nextNonce(): Uint8Array {
    if (this.seq >= Number.MAX_SAFE_INTEGER) throw new RangeError("HPKE message limit reached"); // RFC 9180 §5.2
    const nonce = Uint8Array.from(this.ks.baseNonce);
    let s = this.seq;
    for (let i = N_N - 1; i >= N_N - 8 && s > 0; i--) {
      nonce[i] = (nonce[i] ?? 0) ^ (s & 0xff);
      s = Math.floor(s / 256);
    }
    return nonce;
  }
  protected advance(): void {
    this.seq++;
  }
  protected get key(): Uint8Array {
    return this.ks.key;
  }
  /** Secret export (RFC 9180 §5.3): `length` bytes bound to `exporterContext`. Throws after `destroy()`. */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    this.assertLive();
    assertBytesRange(exporterContext, "exporterContext", 0, MAX_INFO);
    if (!Number.isSafeInteger(length) || length < 1 || length > MAX_EXPORT)
      throw new RangeError(`length must be between 1 and ${MAX_EXPORT}`);
    return labeledExpand(HPKE_SUITE, this.ks.exporterSecret, "sec", exporterContext, length);
  }
  /**
   * Wipes the context's keys; every later seal / open / export throws (review finding 5: before,
   * a destroyed context went on sealing under the all-zero key). Idempotent.
   */
  destroy(): void {
    this.destroyed = true;
    wipe(this.ks.key, this.ks.baseNonce, this.ks.exporterSecret);
  }
}

/** Sender context (RFC 9180 §5.2): seals messages in order and exports secrets. */
export class HpkeSenderContext extends Context {
  /** Encrypts the next message (ContextS.Seal). Throws after `destroy()`. */
  seal(plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    this.assertLive();
    assertBytes(plaintext, "plaintext");
    assertBytes(aad, "aad");
    const ct = getPrimitives().chacha20poly1305Seal(this.key, this.nextNonce(), plaintext, aad);
    this.advance();
    return ct;
  }
}

/** Receiver context (RFC 9180 §5.2): opens messages in order and exports secrets. */
export class HpkeReceiverContext extends Context {
  /** Decrypts the next message (ContextR.Open); any failure throws the opaque DecryptError. Throws a plain Error after `destroy()`. */
  open(ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    this.assertLive();
    assertBytes(ciphertext, "ciphertext");
    assertBytes(aad, "aad");
    let pt: Uint8Array;
    try {
      pt = getPrimitives().chacha20poly1305Open(this.key, this.nextNonce(), ciphertext, aad);
    } catch {
      throw new DecryptError();
    }
    this.advance();
    return pt;
  }
}

/**
 * SetupS with a caller-chosen ephemeral key. Known-answer tests only: reusing an ephemeral key
 * destroys HPKE's security.
 * @internal
 */
export function setupSenderWithEphemeral(
  options: HpkeSenderOptions,
  ephemeralPrivateKey: Uint8Array,
): { enc: Uint8Array; context: HpkeSenderContext } {
  const { info, psk, pskId, hasPsk } = checkOptions(options);
  assertBytes(options.recipientPublicKey, "recipientPublicKey", 32);
  assertBytes(ephemeralPrivateKey, "ephemeralPrivateKey", 32);
  const p = getPrimitives();
  const pkR = options.recipientPublicKey;
  const enc = p.x25519PublicKey(ephemeralPrivateKey);
  const dh1 = dh(ephemeralPrivateKey, pkR);
  if (dh1 === null) throw new RangeError("recipientPublicKey is a low-order X25519 point");
  let dhValue = dh1;
  let kemContext = concat(enc, pkR);
  if (options.sender !== undefined) {
    // AuthEncap (RFC 9180 §4.1).
    if (typeof options.sender !== "object" || options.sender === null)
      throw new TypeError("sender must be a BoxKeyPair");
    assertBytes(options.sender.privateKey, "sender.privateKey", 32);
    const dh2 = dh(options.sender.privateKey, pkR);
    if (dh2 === null) throw new RangeError("recipientPublicKey is a low-order X25519 point");
    dhValue = concat(dh1, dh2);
    kemContext = concat(kemContext, p.x25519PublicKey(options.sender.privateKey));
    wipe(dh2);
  }
  const ss = extractAndExpand(dhValue, kemContext);
  wipe(dh1, dhValue);
  const ks = keySchedule(modeOf(options.sender !== undefined, hasPsk), ss, info, psk, pskId);
  wipe(ss);
  return { enc, context: new HpkeSenderContext(ks) };
}

/** SetupBaseS / SetupPSKS / SetupAuthS / SetupAuthPSKS (RFC 9180 §5.1), mode chosen by the options. */
export function setupHpkeSender(options: HpkeSenderOptions): { enc: Uint8Array; context: HpkeSenderContext } {
  const skE = randomBytes(32);
  try {
    return setupSenderWithEphemeral(options, skE);
  } finally {
    wipe(skE);
  }
}

/**
 * SetupBaseR / SetupPSKR / SetupAuthR / SetupAuthPSKR (RFC 9180 §5.1). A low-order `enc` or
 * sender key fails with the opaque DecryptError, like a bad ciphertext would.
 */
export function setupHpkeReceiver(options: HpkeReceiverOptions): HpkeReceiverContext {
  const { info, psk, pskId, hasPsk } = checkOptions(options);
  assertBytes(options.enc, "enc", 32);
  assertBytes(options.recipientPrivateKey, "recipientPrivateKey", 32);
  if (options.senderPublicKey !== undefined) assertBytes(options.senderPublicKey, "senderPublicKey", 32);
  const p = getPrimitives();
  const skR = options.recipientPrivateKey;
  const dh1 = dh(skR, options.enc);
  if (dh1 === null) throw new DecryptError();
  let dhValue = dh1;
  let kemContext = concat(options.enc, p.x25519PublicKey(skR));
  if (options.senderPublicKey !== undefined) {
    const dh2 = dh(skR, options.senderPublicKey);
    if (dh2 === null) throw new DecryptError();
    dhValue = concat(dh1, dh2);
    kemContext = concat(kemContext, options.senderPublicKey);
    wipe(dh2);
  }
  const ss = extractAndExpand(dhValue, kemContext);
  wipe(dh1, dhValue);
  const ks = keySchedule(modeOf(options.senderPublicKey !== undefined, hasPsk), ss, info, psk, pskId);
  wipe(ss);
  return new HpkeReceiverContext(ks);
}

/** Single-shot Seal (RFC 9180 §6.1): returns the encapsulated key and the ciphertext. */
export function hpkeSeal(
  options: HpkeSenderOptions,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, context } = setupHpkeSender(options);
  try {
    return { enc, ciphertext: context.seal(plaintext, aad) };
  } finally {
    context.destroy();
  }
}

/** Single-shot Open (RFC 9180 §6.1). Any failure throws the opaque DecryptError. */
export function hpkeOpen(options: HpkeReceiverOptions, ciphertext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  const context = setupHpkeReceiver(options);
  try {
    return context.open(ciphertext, aad);
  } finally {
    context.destroy();
  }
}

/** Single-shot sender export (RFC 9180 §6.2, SendExport). */
export function hpkeSendExport(
  options: HpkeSenderOptions,
  exporterContext: Uint8Array,
  length: number,
): { enc: Uint8Array; secret: Uint8Array } {
  const { enc, context } = setupHpkeSender(options);
  try {
    return { enc, secret: context.export(exporterContext, length) };
  } finally {
    context.destroy();
  }
}

/** Single-shot receiver export (RFC 9180 §6.2, ReceiveExport). */
export function hpkeReceiveExport(
  options: HpkeReceiverOptions,
  exporterContext: Uint8Array,
  length: number,
): Uint8Array {
  const context = setupHpkeReceiver(options);
  try {
    return context.export(exporterContext, length);
  } finally {
    context.destroy();
  }
}
