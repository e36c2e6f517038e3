/**
 * Sealing to one or more X25519 public keys (vault items, grants' secrets, snapshots).
 *
 * A fresh random 32-byte content key K encrypts the payload; K is HPKE-sealed (RFC 9180,
 * hpke.ts) to each recipient, in auth mode when the sender must be authenticated; the whole
 * thing may also carry the sender's Ed25519 signature. Format v2, parsed only by `parseSealed`:
 *
 *   prefix   = version u8 (2) ‖ suite u8 (1) ‖ flags u8 ‖ count u16 ‖ commitment (32) ‖ nonce (24)
 *   ct       = XChaCha20-Poly1305(payloadKey, nonce, plaintext, payloadAad) (ciphertext ‖ tag)
 *   entry    = keyId (16) ‖ enc (32) ‖ HPKE ciphertext of K (48)          × count
 *   body     = prefix ‖ entries ‖ u32 len(ct) ‖ ct
 *   sealed   = body [‖ Ed25519 signature (64) if flags bit 1]
 *
 * flags: bit 0 = HPKE auth mode (sender's static box key), bit 1 = signed; other bits zero.
 * payloadKey = HKDF-SHA256(K, "", "veil/v1/sealed/payload-key", 32)
 * commitment = HKDF-SHA256(K, "", "veil/v1/sealed/commitment", 32)
 * parties    = lp(sender's X25519 public key, or empty) ‖ lp(signer's Ed25519 public key, or empty)
 * payloadAad = lp("veil/v1/sealed/payload") ‖ prefix ‖ lp(aad) ‖ parties
 * HPKE info  = lp("veil/v1/sealed") ‖ lp(aad) ‖ parties
 * HPKE aad   = lp("veil/v1/sealed/entry") ‖ prefix ‖ SHA-256(ct) ‖ parties
 * signature over lp("veil/v1/sealed/signature") ‖ body ‖ lp(aad) ‖ parties
 * keyId = SHA-256(lp("veil/v1/sealed/key-id") ‖ recipient public key)[0..16]
 *
 * Key ids are distinct within a box (the parser refuses duplicates): a console cannot make a
 * recipient try 1,024 HPKE openings by filling every entry with its key id (review finding 6).
 *
 * Who signed and who sent are bound inside (`parties`, review finding 4; v1 lacked it): with
 * encrypt-then-sign alone, anyone could strip the signature and sign the same body with their
 * own key, and a recipient expecting them as signer would accept content they never saw. Now
 * the payload and every entry name the signer's public key, so a re-signed box opens for
 * no one. The auth-mode sender's key is already in HPKE's key schedule (RFC 9180 §5.1.3) and is
 * bound again here for the payload.
 *
 * Key commitment: the prefix commits to K (HKDF output, collision-resistant) and is
 * authenticated by the payload and by every entry, so every recipient that opens the box
 * recovers the same K and so the same plaintext: one ciphertext cannot open to two plaintexts
 * ("invisible salamanders"), which Poly1305 alone does not guarantee.
 *
 * Each entry binds the hash of the payload ciphertext, so in auth mode a recipient (who learns
 * K) cannot re-encrypt other content under the same header and pass it to another recipient
 * as coming from the sender: the other recipients' entries would no longer open.
 */
import { ByteReader, concat, lengthPrefixed, u16be, u32be, u8, utf8 } from "./encoding";
import { signEd25519, verifyEd25519 } from "./ed25519";
import { DecryptError, assertBytes, assertBytesRange, describe } from "./errors";
import { hpkeSeal, setupHpkeReceiver } from "./hpke";
import type { BoxKeyPair, BoxPublicKey, IdentityPrivateKey, IdentityPublicKey } from "./keys";
import { getPrimitives } from "./primitives/index";
import { constantTimeEqual, randomBytes, wipe } from "./random";

/** Sealed-box format version. */
export const SEALED_VERSION = 2;
const SUITE = 1;
const FLAG_AUTH = 1;
const FLAG_SIGNED = 2;
/** Most recipients one box may have. */
export const MAX_RECIPIENTS = 1024;
/** Largest payload (64 MiB). */
export const MAX_SEALED_PAYLOAD: number = 64 * 1024 * 1024;
const MAX_AAD = 64 * 1024;
const KEY_ID_LENGTH = 16;
const ENTRY_LENGTH = KEY_ID_LENGTH + 32 + 48;
const PREFIX_LENGTH = 1 + 1 + 1 + 2 + 32 + 24;
const EMPTY = new Uint8Array(0);

/** Bytes produced by `seal`. */
export type SealedBox = Uint8Array & { readonly __brand: "SealedBox" };

/** How to seal. */
export interface SealOptions {
  /** 1–1024 distinct recipient box keys. */
  readonly recipients: readonly BoxPublicKey[];
  /** Sender's static box key pair: content keys are sealed in HPKE auth mode (RFC 9180 §5.1.3). */
  readonly sender?: BoxKeyPair;
  /** Sender's identity key: the whole box is signed (Ed25519). */
  readonly signer?: IdentityPrivateKey;
  /** Associated data bound to the box but not stored in it (e.g. a purpose and an object id). */
  readonly aad?: Uint8Array;
}

/** How to open. The sender / signer given here must match the box exactly (no downgrade). */
export interface UnsealOptions {
  readonly recipient: BoxKeyPair;
  /** Required iff the box was sealed with `sender`. */
  readonly sender?: BoxPublicKey;
  /** Required iff the box was signed. */
  readonly signer?: IdentityPublicKey;
  readonly aad?: Uint8Array;
}

interface Entry {
  keyId: Uint8Array;
  enc: Uint8Array;
  sealedKey: Uint8Array;
}

interface Parsed {
  flags: number;
  commitment: Uint8Array;
  nonce: Uint8Array;
  prefix: Uint8Array;
  body: Uint8Array;
  entries: Entry[];
  ciphertext: Uint8Array;
  signature: Uint8Array | null;
}

function keyId(publicKey: Uint8Array): Uint8Array {
  return getPrimitives()
    .sha256(concat(lengthPrefixed("veil/v1/sealed/key-id"), publicKey))
    .slice(0, KEY_ID_LENGTH);
}

function deriveFromContentKey(k: Uint8Array): { payloadKey: Uint8Array; commitment: Uint8Array } {
  const p = getPrimitives();
  return {
    payloadKey: p.hkdfSha256(k, EMPTY, utf8("veil/v1/sealed/payload-key"), 32),
    commitment: p.hkdfSha256(k, EMPTY, utf8("veil/v1/sealed/commitment"), 32),
  };
}

/** lp(sender box public key or empty) ‖ lp(signer identity public key or empty). */
const partiesOf = (sender: Uint8Array | undefined, signer: Uint8Array | undefined): Uint8Array =>
  concat(lengthPrefixed(sender ?? EMPTY), lengthPrefixed(signer ?? EMPTY));
const hpkeInfo = (aad: Uint8Array, parties: Uint8Array): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed"), lengthPrefixed(aad), parties);
const hpkeAad = (prefix: Uint8Array, ct: Uint8Array, parties: Uint8Array): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed/entry"), prefix, getPrimitives().sha256(ct), parties);
const payloadAad = (prefix: Uint8Array, aad: Uint8Array, parties: Uint8Array): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed/payload"), prefix, lengthPrefixed(aad), parties);
const signedBytes = (body: Uint8Array, aad: Uint8Array, parties: Uint8Array): Uint8Array =>
  concat(lengthPrefixed("veil/v1/sealed/signature"), body, lengthPrefixed(aad), parties);

/**
 * The single parser of sealed boxes. Anything malformed, including two entries with the same
 * key id (a CPU-exhaustion attempt, review finding 6), throws DecryptError.
 */
function parseSealed(bytes: Uint8Array): Parsed {
  try {
    const r = new ByteReader(bytes);
    const version = r.u8();
    const suite = r.u8();
    const flags = r.u8();
    const count = r.u16();
    if (version !== SEALED_VERSION || suite !== SUITE || (flags & ~(FLAG_AUTH | FLAG_SIGNED)) !== 0)
      throw new DecryptError();
    if (count < 1 || count > MAX_RECIPIENTS) throw new DecryptError();
    const commitment = r.take(32);
    const nonce = r.take(24);
    const entries: Entry[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < count; i++) {
      const entry = { keyId: r.take(KEY_ID_LENGTH), enc: r.take(32), sealedKey: r.take(48) };
      // Distinct key ids only: at most one HPKE opening per unseal (review finding 6).
      const id = entry.keyId.join(",");
      if (ids.has(id)) throw new DecryptError();
      ids.add(id);
      entries.push(entry);
    }
    const headerLength = PREFIX_LENGTH + count * ENTRY_LENGTH;
    const length = r.u32();
    if (length < 16 || length > MAX_SEALED_PAYLOAD + 16) throw new DecryptError();
    const ciphertext = r.take(length);
    const signature = (flags & FLAG_SIGNED) !== 0 ? r.take(64) : null;
    if (r.remaining !== 0) throw new DecryptError();
    const bodyLength = headerLength + 4 + length;
    return {
      flags,
      commitment,
      nonce,
      prefix: bytes.slice(0, PREFIX_LENGTH),
      body: bytes.slice(0, bodyLength),
      entries,
      ciphertext,
      signature,
    };
  } catch {
    throw new DecryptError();
  }
}

/**
 * Seals `plaintext` (≤ 64 MiB) to every recipient. See the module doc for the format (v2: the
 * signer's and sender's public keys are bound into the payload and every entry, review
 * finding 4).
 */
export function seal(plaintext: Uint8Array, options: SealOptions): SealedBox {
  assertBytesRange(plaintext, "plaintext", 0, MAX_SEALED_PAYLOAD);
  if (typeof options !== "object" || options === null)
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const { recipients, sender, signer } = options;
  const aad = options.aad ?? EMPTY;
  assertBytesRange(aad, "aad", 0, MAX_AAD);
  const list: unknown = recipients;
  if (!Array.isArray(list)) throw new TypeError(`recipients must be an array, got ${describe(recipients)}`);
  if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS)
    throw new RangeError(`recipients must have between 1 and ${MAX_RECIPIENTS} keys`);
  const seen = new Set<string>();
  for (const [i, r] of recipients.entries()) {
    assertBytes(r, `recipients[${i}]`, 32);
    const k = r.join(",");
    if (seen.has(k)) throw new RangeError(`recipients[${i}] is a duplicate`);
    seen.add(k);
  }
  if (sender !== undefined) {
    if (typeof sender !== "object" || sender === null) throw new TypeError("sender must be a BoxKeyPair");
    assertBytes(sender.privateKey, "sender.privateKey", 32);
  }
  if (signer !== undefined) assertBytes(signer, "signer", 32);

  const p = getPrimitives();
  const flags = (sender !== undefined ? FLAG_AUTH : 0) | (signer !== undefined ? FLAG_SIGNED : 0);
  // The public keys are recomputed from the private ones, so what is bound is what signs / sends.
  const parties = partiesOf(
    sender !== undefined ? p.x25519PublicKey(sender.privateKey) : undefined,
    signer !== undefined ? p.ed25519PublicKey(signer) : undefined,
  );
  const contentKey = randomBytes(32);
  const { payloadKey, commitment } = deriveFromContentKey(contentKey);
  try {
    const nonce = randomBytes(24);
    const prefix = concat(u8(SEALED_VERSION), u8(SUITE), u8(flags), u16be(recipients.length), commitment, nonce);
    const ct = p.xchacha20poly1305Seal(payloadKey, nonce, plaintext, payloadAad(prefix, aad, parties));
    const info = hpkeInfo(aad, parties);
    const entryAad = hpkeAad(prefix, ct, parties);
    const entries = recipients.map((r) => {
      const { enc, ciphertext } = hpkeSeal(
        { recipientPublicKey: r, info, ...(sender !== undefined ? { sender } : {}) },
        contentKey,
        entryAad,
      );
      return concat(keyId(r), enc, ciphertext);
    });
    const body = concat(prefix, ...entries, u32be(ct.length), ct);
    if (signer === undefined) return body as SealedBox;
    return concat(body, signEd25519(signer, signedBytes(body, aad, parties))) as SealedBox;
  } finally {
    wipe(contentKey, payloadKey);
  }
}

/**
 * Opens a sealed box as one of its recipients. Every failure (not a recipient, tampered bytes,
 * wrong sender or signer, a signature stripped and replaced by another signer's (review
 * finding 4), duplicate key ids (finding 6), missing or unexpected authentication, commitment
 * mismatch) throws the one opaque DecryptError.
 */
export function unseal(sealed: Uint8Array, options: UnsealOptions): Uint8Array {
  assertBytes(sealed, "sealed");
  if (typeof options !== "object" || options === null)
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const { recipient, sender, signer } = options;
  const aad = options.aad ?? EMPTY;
  assertBytesRange(aad, "aad", 0, MAX_AAD);
  if (typeof recipient !== "object" || recipient === null) throw new TypeError("recipient must be a BoxKeyPair");
  assertBytes(recipient.privateKey, "recipient.privateKey", 32);
  assertBytes(recipient.publicKey, "recipient.publicKey", 32);
  if (sender !== undefined) assertBytes(sender, "sender", 32);
  if (signer !== undefined) assertBytes(signer, "signer", 32);

  const box = parseSealed(sealed);
  // The opener's expectations must match the box exactly: no stripping of auth or signature.
  const expectedFlags = (sender !== undefined ? FLAG_AUTH : 0) | (signer !== undefined ? FLAG_SIGNED : 0);
  if (box.flags !== expectedFlags) throw new DecryptError();
  const parties = partiesOf(sender, signer);
  if (signer !== undefined) {
    if (box.signature === null || !verifyEd25519(signer, signedBytes(box.body, aad, parties), box.signature))
      throw new DecryptError();
  }
  const id = keyId(recipient.publicKey);
  const info = hpkeInfo(aad, parties);
  const entryAad = hpkeAad(box.prefix, box.ciphertext, parties);
  let contentKey: Uint8Array | null = null;
  // Key ids are distinct (parseSealed), so at most one entry is tried.
  for (const e of box.entries) {
    if (contentKey !== null || !constantTimeEqual(e.keyId, id)) continue;
    let ctx: ReturnType<typeof setupHpkeReceiver> | null = null;
    try {
      ctx = setupHpkeReceiver({
        enc: e.enc,
        recipientPrivateKey: recipient.privateKey,
        info,
        ...(sender !== undefined ? { senderPublicKey: sender } : {}),
      });
      contentKey = ctx.open(e.sealedKey, entryAad);
    } catch {
      // not openable: fail below
    } finally {
      // Wiped whether the entry opened or not (review finding 9).
      ctx?.destroy();
    }
  }
  if (contentKey === null) throw new DecryptError();
  const { payloadKey, commitment } = deriveFromContentKey(contentKey);
  wipe(contentKey);
  try {
    if (!constantTimeEqual(commitment, box.commitment)) throw new DecryptError();
    return getPrimitives().xchacha20poly1305Open(
      payloadKey,
      box.nonce,
      box.ciphertext,
      payloadAad(box.prefix, aad, parties),
    );
  } catch {
    throw new DecryptError();
  } finally {
    wipe(payloadKey);
  }
}
