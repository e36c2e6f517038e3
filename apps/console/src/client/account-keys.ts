/**
 * An account's key pairs in the browser: made at sign-up, wrapped under the password's WrapKey
 * (AAD binds the user id and the purpose, so the console cannot swap one wrapped key for
 * another), unwrapped after log-in and checked against the public keys and the box-key
 * certificate the console serves. Private keys exist only in this tab's memory.
 */
import {
  WRAP_PURPOSES,
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  canonicalJson,
  certifyBoxKey,
  constantTimeEqual,
  fromBase64Url,
  fromUtf8,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  identityKeyPairFromPrivateKey,
  identityPrivateKey,
  identityPublicKey,
  toBase64Url,
  unwrapKey,
  utf8,
  verifyBoxKeyCertificate,
  wipe,
  wrapKey,
  type BoxKeyPair,
  type IdentityKeyPair,
  type SignedStatement,
  type WrapKey,
} from "@veil/crypto";
import type { TAccountKeys } from "@veil/protocol";

/** The unwrapped private keys of the signed-in account. */
export interface AccountKeyPairs {
  readonly identity: IdentityKeyPair;
  readonly box: BoxKeyPair;
}

/** The console served keys that do not belong together or to this account. */
export class KeyIntegrityError extends Error {
  constructor(what: string) {
    super(`Your keys could not be verified (${what}). Do not continue; the console may have been tampered with.`);
    this.name = "KeyIntegrityError";
  }
}

/**
 * Wrap contexts: the AAD binds the user id, the purpose and the key's own public key, so the
 * console can neither serve one account's wrapped key for another, nor swap the identity and
 * box keys, nor pair a wrapped private key with a different public key.
 */
const identityContext = (userId: string, publicKey: Uint8Array) => ({
  ownerId: userId,
  purpose: WRAP_PURPOSES.identityPrivateKey,
  publicKey,
});
const boxContext = (userId: string, publicKey: Uint8Array) => ({
  ownerId: userId,
  purpose: WRAP_PURPOSES.boxPrivateKey,
  publicKey,
});
/** The account's box key certificate subject (epoch 0: account box keys are not rotated yet). */
const BOX_SUBJECT = { ownerKind: "account", purpose: "box" } as const;

/** The certificate's bytes on the wire: UTF-8 of the canonical JSON of the SignedStatement. */
export function encodeCertificate(statement: SignedStatement): string {
  return toBase64Url(utf8(canonicalJson(statement)));
}

function decodeCertificate(b64u: string): SignedStatement {
  const value = JSON.parse(fromUtf8(fromBase64Url(b64u))) as unknown;
  if (typeof value !== "object" || value === null) throw new TypeError("certificate is not an object");
  const v = value as Record<string, unknown>;
  if (typeof v.domain !== "string" || typeof v.signature !== "string" || !("body" in v))
    throw new TypeError("certificate is malformed");
  return value as SignedStatement;
}

/** Wraps both private keys under `wrap` for `userId`. */
export function wrapAccountKeys(
  keys: AccountKeyPairs,
  userId: string,
  wrap: WrapKey,
): { wrappedIdentityKey: string; wrappedBoxKey: string } {
  return {
    wrappedIdentityKey: toBase64Url(
      wrapKey(wrap, keys.identity.privateKey, identityContext(userId, keys.identity.publicKey)),
    ),
    wrappedBoxKey: toBase64Url(wrapKey(wrap, keys.box.privateKey, boxContext(userId, keys.box.publicKey))),
  };
}

/** Sign-up: fresh Ed25519 identity and X25519 box keys, the box key certified, both wrapped. */
export function createAccountKeys(userId: string, wrap: WrapKey): { keys: AccountKeyPairs; wire: TAccountKeys } {
  const keys: AccountKeyPairs = { identity: generateIdentityKeyPair(), box: generateBoxKeyPair() };
  const certificate = certifyBoxKey(keys.identity.privateKey, keys.box.publicKey, {
    ...BOX_SUBJECT,
    ownerId: userId,
    epoch: 0,
  });
  return {
    keys,
    wire: {
      identityPublicKey: toBase64Url(keys.identity.publicKey),
      boxPublicKey: toBase64Url(keys.box.publicKey),
      boxKeyCertificate: encodeCertificate(certificate),
      ...wrapAccountKeys(keys, userId, wrap),
    },
  };
}

/**
 * Opens the wrapped keys with `wrap` and checks that they match the served public keys and that
 * the box key is certified by the identity key for this user id. Throws DecryptError (wrong
 * key) or KeyIntegrityError (keys that do not belong together).
 */
export function unwrapAccountKeys(
  wire: Pick<TAccountKeys, "identityPublicKey" | "boxPublicKey" | "boxKeyCertificate">,
  wrapped: { wrappedIdentityKey: string; wrappedBoxKey: string },
  userId: string,
  wrap: WrapKey,
): AccountKeyPairs {
  const idSeed = unwrapKey(
    wrap,
    fromBase64Url(wrapped.wrappedIdentityKey),
    identityContext(userId, fromBase64Url(wire.identityPublicKey)),
  );
  const boxSeed = unwrapKey(
    wrap,
    fromBase64Url(wrapped.wrappedBoxKey),
    boxContext(userId, fromBase64Url(wire.boxPublicKey)),
  );
  try {
    return checkKeyPairs(wire, identityPrivateKey(idSeed), boxPrivateKey(boxSeed), userId);
  } finally {
    wipe(idSeed, boxSeed);
  }
}

/** Rebuilds key pairs from private keys and checks them against the served public data. */
export function checkKeyPairs(
  wire: Pick<TAccountKeys, "identityPublicKey" | "boxPublicKey" | "boxKeyCertificate">,
  idPrivate: Uint8Array,
  boxPrivate: Uint8Array,
  userId: string,
): AccountKeyPairs {
  const keys: AccountKeyPairs = {
    identity: identityKeyPairFromPrivateKey(identityPrivateKey(idPrivate)),
    box: boxKeyPairFromPrivateKey(boxPrivateKey(boxPrivate)),
  };
  try {
    checkServedPublicKeys(wire, keys, userId);
  } catch (error) {
    wipeAccountKeys(keys);
    throw error;
  }
  return keys;
}

/**
 * Checks the public keys and box-key certificate the console serves for this account against
 * the key pairs this tab holds: same identity key, same box key, and a certificate by that
 * identity key for exactly that box key and this user id. Run at sign-in and on every later
 * GET /api/me, so a console cannot swap the account's public keys once the tab is signed in.
 */
export function checkServedPublicKeys(
  wire: Pick<TAccountKeys, "identityPublicKey" | "boxPublicKey" | "boxKeyCertificate">,
  keys: AccountKeyPairs,
  userId: string,
): void {
  if (!constantTimeEqual(keys.identity.publicKey, fromBase64Url(wire.identityPublicKey)))
    throw new KeyIntegrityError("identity key mismatch");
  if (!constantTimeEqual(keys.box.publicKey, fromBase64Url(wire.boxPublicKey)))
    throw new KeyIntegrityError("box key mismatch");
  try {
    const certified = verifyBoxKeyCertificate(
      decodeCertificate(wire.boxKeyCertificate),
      identityPublicKey(keys.identity.publicKey),
      { ...BOX_SUBJECT, ownerId: userId, minEpoch: 0 },
    );
    if (!constantTimeEqual(certified.boxPublicKey, keys.box.publicKey))
      throw new KeyIntegrityError("box key certificate names another key");
  } catch (error) {
    if (error instanceof KeyIntegrityError) throw error;
    throw new KeyIntegrityError("box key certificate does not verify");
  }
}

/** Best-effort wipe of private key bytes held by a key pair set. */
export function wipeAccountKeys(keys: AccountKeyPairs | null): void {
  if (keys) wipe(keys.identity.privateKey, keys.box.privateKey);
}
