/**
 * What the browser checks and signs for instances, before it trusts or sends anything:
 *
 * - the instance certificate must verify under its signer's identity key and certify exactly
 *   the instance id and public keys the console lists (a console that swaps the instance's box
 *   key would otherwise point the Noise handshake at itself);
 * - grants are signed here, with the admin's identity key, over the account's identity key
 *   and certified box key; an account's box-key certificate must verify under the identity key
 *   it is presented with.
 *
 * The signer's safety code (`safetyCode(signerPublicKey)`) is shown next to every certificate
 * and grant so people can compare it with the admin's own /account page.
 */
import {
  constantTimeEqual,
  fingerprint,
  fromBase64Url,
  fromUtf8,
  identityPublicKey,
  safetyCode,
  signStatement,
  toBase64Url,
  utf8,
  verifyBoxKeyCertificate,
  verifyStatement,
  type BoxPublicKey,
  type IdentityPrivateKey,
  type SignedStatement,
} from "@veil/crypto";
import {
  ADMIN_DELEGATION_DOMAIN,
  GRANT_DOMAIN,
  INSTANCE_CERTIFICATE_DOMAIN,
  ZAdminDelegationBodySchema,
  ZGrantBodySchema,
  ZInstanceCertificateBodySchema,
  ZSignedStatementSchema,
  type TGrantBody,
  type TGrantBundle,
  type TInstanceCertificateBody,
  type TInstanceSummary,
  type TRole,
  ZIdSchema,
} from "@veil/protocol";
import { z } from "zod";
import { KeyIntegrityError, type AccountKeyPairs } from "../account-keys";
import { ownerScope, readOwned, signedInOwner, writeOwned, type LocalOwner } from "../local-records";

/** The console served instance material that does not verify: nothing is opened with it. */
export class InstanceTrustError extends Error {
  constructor(what: string) {
    super(
      `This instance's certificate could not be verified (${what}). Do not use it; the console may have been tampered with.`,
    );
    this.name = "InstanceTrustError";
  }
}

/** A verified instance certificate. */
export interface VerifiedInstance {
  readonly body: TInstanceCertificateBody;
  readonly signerPublicKey: Uint8Array;
  /** The certified X25519 key: the Noise responder static key. */
  readonly boxPublicKey: BoxPublicKey;
  /** Safety code of the key that signed the certificate (and so pins the companion's grants). */
  readonly signerSafetyCode: string;
}

/** Verifies the certificate of a listed instance and that it certifies exactly the listed id and keys. */
export function verifyInstance(instance: TInstanceSummary): VerifiedInstance {
  let signer: Uint8Array;
  let signed: unknown;
  try {
    signer = fromBase64Url(instance.certificate.signerPublicKey);
    signed = verifyStatement(
      instance.certificate.statement as SignedStatement,
      INSTANCE_CERTIFICATE_DOMAIN,
      identityPublicKey(signer),
    );
  } catch {
    throw new InstanceTrustError("signature");
  }
  const body = ZInstanceCertificateBodySchema.safeParse(signed);
  if (!body.success) throw new InstanceTrustError("malformed body");
  const b = body.data;
  if (b.instanceId.toLowerCase() !== instance.id.toLowerCase()) throw new InstanceTrustError("another instance");
  if (b.identityPublicKey !== instance.identityPublicKey || b.boxPublicKey !== instance.boxPublicKey)
    throw new InstanceTrustError("public keys differ");
  return {
    body: b,
    signerPublicKey: signer,
    boxPublicKey: fromBase64Url(b.boxPublicKey) as BoxPublicKey,
    signerSafetyCode: safetyCode(identityPublicKey(signer)),
  };
}

/** True when this browser's identity key signed the certificate (so it may sign grants the companion accepts). */
export function isSigner(verified: VerifiedInstance, keys: AccountKeyPairs): boolean {
  return constantTimeEqual(verified.signerPublicKey, keys.identity.publicKey);
}

/** An account's public keys as a grant needs them (its own box-key certificate included). */
export interface AccountPublicKeys {
  readonly accountId: string;
  readonly identityPublicKey: string;
  readonly boxPublicKey: string;
  readonly boxKeyCertificate: SignedStatement;
}

/** The account's box-key certificate as stored (base64url of the canonical JSON) → a statement. */
export function decodeBoxKeyCertificate(b64u: string): SignedStatement {
  const parsed = ZSignedStatementSchema.safeParse(JSON.parse(fromUtf8(fromBase64Url(b64u))));
  if (!parsed.success) throw new InstanceTrustError("box key certificate is malformed");
  return parsed.data as SignedStatement;
}

/**
 * Checks that `keys.boxKeyCertificate` verifies under `keys.identityPublicKey` for this account
 * and certifies exactly `keys.boxPublicKey` (a console or a pasted card that pairs someone's
 * identity key with another box key is refused before anything is signed).
 */
export function checkAccountKeys(keys: AccountPublicKeys): void {
  try {
    const certified = verifyBoxKeyCertificate(
      keys.boxKeyCertificate,
      identityPublicKey(fromBase64Url(keys.identityPublicKey)),
      {
        ownerKind: "account",
        ownerId: keys.accountId,
        purpose: "box",
        minEpoch: 0,
      },
    );
    if (!constantTimeEqual(certified.boxPublicKey, fromBase64Url(keys.boxPublicKey))) throw new Error("other key");
  } catch {
    throw new Error("That account's box key is not certified by its identity key. Nothing was signed.");
  }
}

/**
 * This account's public keys as its own grants and its key card carry them: the identity and box
 * keys of the key pairs this tab holds (never the console's copy of them), with the served
 * box-key certificate, which must certify exactly that box key under that identity key for this
 * account. A console that serves other keys or another certificate gets nothing signed.
 */
export function ownPublicKeys(accountId: string, keys: AccountKeyPairs, boxKeyCertificate: string): AccountPublicKeys {
  try {
    const own: AccountPublicKeys = {
      accountId,
      identityPublicKey: toBase64Url(keys.identity.publicKey),
      boxPublicKey: toBase64Url(keys.box.publicKey),
      boxKeyCertificate: decodeBoxKeyCertificate(boxKeyCertificate),
    };
    checkAccountKeys(own);
    return own;
  } catch {
    throw new KeyIntegrityError("the box key certificate the console serves does not certify your keys");
  }
}

/** Default lifetime of a grant the UI signs (the companion ends sessions when a grant expires; admins re-sign). */
export const GRANT_LIFETIME_MS = 30 * 24 * 3600_000;
/** Lifetime of the short grant a signer's browser makes for itself for one session. */
export const SELF_SESSION_GRANT_MS = 12 * 3600_000;

/** Signs a grant for `account` on `instanceId` with the signer's identity key; returns the bundle the account presents. */
export function signGrant(
  signer: IdentityPrivateKey,
  signerPublicKey: Uint8Array,
  instanceId: string,
  account: AccountPublicKeys,
  role: TRole,
  expiresAt: number,
  now = Date.now(),
  delegation?: SignedStatement,
): TGrantBundle {
  checkAccountKeys(account);
  const body: TGrantBody = {
    grantId: crypto.randomUUID(),
    instanceId: instanceId.toLowerCase(),
    accountId: account.accountId,
    identityPublicKey: account.identityPublicKey,
    boxPublicKey: account.boxPublicKey,
    role,
    issuedAt: now,
    expiresAt,
  };
  const grant = signStatement(GRANT_DOMAIN, ZGrantBodySchema.parse(body), signer);
  return {
    grant,
    signerPublicKey: toBase64Url(signerPublicKey),
    ...(delegation ? { delegation } : {}),
    boxKeyCertificate: account.boxKeyCertificate,
  };
}

/**
 * Signs an admin delegation with the instance signer's key: `account`'s identity key may sign
 * grants for this instance until `expiresAt`. One level only (the companion refuses a delegated
 * admin's delegation), so only the signer's browser makes these.
 */
export function signDelegation(
  signer: IdentityPrivateKey,
  instanceId: string,
  account: AccountPublicKeys,
  expiresAt: number,
  now = Date.now(),
): SignedStatement {
  checkAccountKeys(account);
  const body = ZAdminDelegationBodySchema.parse({
    instanceId: instanceId.toLowerCase(),
    adminAccountId: account.accountId,
    adminIdentityPublicKey: account.identityPublicKey,
    issuedAt: now,
    expiresAt,
  });
  return signStatement(ADMIN_DELEGATION_DOMAIN, body, signer);
}

/**
 * A delegation as the console served it, checked here: signed by the instance's certificate
 * signer, for this instance and for `adminIdentityPublicKey` (base64url), not expired. Null
 * otherwise — a console cannot mint one, so a forged or swapped delegation is simply unusable.
 */
export function checkDelegation(
  statement: unknown,
  verified: VerifiedInstance,
  instanceId: string,
  adminIdentityPublicKey: string,
  now = Date.now(),
): SignedStatement | null {
  const parsed = ZSignedStatementSchema.safeParse(statement);
  if (!parsed.success) return null;
  try {
    const d = ZAdminDelegationBodySchema.safeParse(
      verifyStatement(
        parsed.data as SignedStatement,
        ADMIN_DELEGATION_DOMAIN,
        identityPublicKey(verified.signerPublicKey),
      ),
    );
    const ok =
      d.success &&
      d.data.instanceId.toLowerCase() === instanceId.toLowerCase() &&
      d.data.adminIdentityPublicKey === adminIdentityPublicKey &&
      d.data.expiresAt > now;
    return ok ? (parsed.data as SignedStatement) : null;
  } catch {
    return null;
  }
}

/** Reads the signed body of a grant bundle after checking its signature (null if it does not verify). */
export function grantBody(bundle: TGrantBundle): { body: TGrantBody; signerSafetyCode: string } | null {
  try {
    const signer = identityPublicKey(fromBase64Url(bundle.signerPublicKey));
    const parsed = ZGrantBodySchema.safeParse(verifyStatement(bundle.grant as SignedStatement, GRANT_DOMAIN, signer));
    return parsed.success ? { body: parsed.data, signerSafetyCode: safetyCode(signer) } : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Key cards. The console has no route that serves another account's public keys, so an account
// hands its admin a "key card" (copy and paste): its id, identity key, box key and box-key
// certificate. The admin's browser verifies the certificate and shows the card's safety code,
// which the admin compares with the one the person reads from their /account page.

const KEY_CARD_PREFIX = "veilkey1_";
const ZKeyCardSchema = z.strictObject({
  accountId: ZIdSchema,
  identityPublicKey: z.string().max(64),
  boxPublicKey: z.string().max(64),
  boxKeyCertificate: ZSignedStatementSchema,
});

/** This account's key card, from {@link ownPublicKeys} (the keys this tab holds). */
export function encodeKeyCard(own: AccountPublicKeys): string {
  const card = {
    accountId: own.accountId,
    identityPublicKey: own.identityPublicKey,
    boxPublicKey: own.boxPublicKey,
    boxKeyCertificate: own.boxKeyCertificate,
  };
  return KEY_CARD_PREFIX + toBase64Url(utf8(JSON.stringify(card)));
}

/** Parses and verifies a pasted key card; returns the keys and the safety code to compare. */
export function decodeKeyCard(text: string): { keys: AccountPublicKeys; safetyCode: string } {
  const s = text.trim();
  if (!s.startsWith(KEY_CARD_PREFIX) || s.length > 4096)
    throw new Error("That is not a Veil key card (it starts with veilkey1_).");
  let parsed: z.infer<typeof ZKeyCardSchema>;
  try {
    parsed = ZKeyCardSchema.parse(JSON.parse(fromUtf8(fromBase64Url(s.slice(KEY_CARD_PREFIX.length)))));
  } catch {
    throw new Error("That key card is damaged. Ask for it again.");
  }
  const keys: AccountPublicKeys = {
    ...parsed,
    accountId: parsed.accountId.toLowerCase(),
    boxKeyCertificate: parsed.boxKeyCertificate as SignedStatement,
  };
  checkAccountKeys(keys);
  return { keys, safetyCode: safetyCode(identityPublicKey(fromBase64Url(keys.identityPublicKey))) };
}

/**
 * Checks that a grant bundle hangs off the instance's certificate signer: signed by that key
 * itself, or by a key that signer delegated to for this instance. A console that forges a
 * certificate under its own key (to point our handshake at a box key it holds) cannot also
 * produce such a grant for us, so the forgery is refused before any handshake.
 */
export function grantMatchesSigner(bundle: TGrantBundle, verified: VerifiedInstance, instanceId: string): boolean {
  if (bundle.signerPublicKey === toBase64Url(verified.signerPublicKey)) return bundle.delegation === undefined;
  return checkDelegation(bundle.delegation, verified, instanceId, bundle.signerPublicKey) !== null;
}

/** Signer pins per account scope, instance id → signer fingerprint. v1 (per profile) is ignored. */
const PINS_KEY = "veil.instance-signers.v2";
const LEGACY_PINS_KEY = "veil.instance-signers.v1";

/** Signers confirmed in this tab, per account scope (kept even when the profile has no usable localStorage). */
const tabPins = new Map<string, Map<string, string>>();

function readPins(owner: LocalOwner): Record<string, string> {
  const tab = tabPins.get(ownerScope(owner)) ?? new Map<string, string>();
  return { ...Object.fromEntries(tab), ...readOwned(PINS_KEY, z.string(), owner) };
}

const signerFingerprint = (verified: VerifiedInstance): string =>
  toBase64Url(fingerprint(identityPublicKey(verified.signerPublicKey)));

/**
 * The certificate signer of an instance, pinned per account (and its identity key) in this
 * browser profile (a public fingerprint, in localStorage): "pinned" when this account already
 * trusts exactly this signer here, "unknown" when it has never trusted one for the instance (or
 * no account is signed in). A different signer than the pinned one throws: a swap between
 * visits is loud.
 *
 * "unknown" is not trusted silently: the console serves both the certificate and its signer,
 * and a grant holds only public data, so a console could forge both for a member. The member
 * compares the signer's safety code with the one their administrator reads from their own
 * page, and only then {@link pinSigner} (the page asks before any session is opened). A pin
 * another account of the profile made is not this account's.
 */
export function signerPinState(
  instanceId: string,
  verified: VerifiedInstance,
  owner: LocalOwner | null = signedInOwner(),
): "pinned" | "unknown" {
  if (owner === null) return "unknown";
  const known = readPins(owner)[instanceId.toLowerCase()];
  if (known === undefined) return "unknown";
  if (known !== signerFingerprint(verified))
    throw new InstanceTrustError("the key that signs this instance changed since this browser last opened it");
  return "pinned";
}

/** Trusts `verified`'s signer for this instance, for this account in this browser profile, from now on. */
export function pinSigner(
  instanceId: string,
  verified: VerifiedInstance,
  owner: LocalOwner | null = signedInOwner(),
): void {
  if (owner === null) return;
  const scope = ownerScope(owner);
  const tab = tabPins.get(scope) ?? new Map<string, string>();
  tab.set(instanceId.toLowerCase(), signerFingerprint(verified));
  tabPins.set(scope, tab);
  // The page asks again in the next tab when storage is unusable.
  writeOwned(
    PINS_KEY,
    owner,
    { ...readPins(owner), [instanceId.toLowerCase()]: signerFingerprint(verified) },
    LEGACY_PINS_KEY,
  );
}
