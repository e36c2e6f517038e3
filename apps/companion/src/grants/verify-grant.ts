import {
  constantTimeEqual,
  fingerprint,
  fromBase64Url,
  identityPublicKey,
  verifyBoxKeyCertificate,
  toHex,
  verifyStatement,
  type CertifiedBoxKey,
  type IdentityPublicKey,
  type SignedStatement,
} from "../crypto";
import {
  ADMIN_DELEGATION_DOMAIN,
  GRANT_DOMAIN,
  MAX_GRANT_BUNDLE_BYTES,
  ZAdminDelegationBodySchema,
  ZGrantBodySchema,
  ZGrantBundleSchema,
  type TGrantBody,
} from "../protocol";

/** Why a grant was refused. The code is logged; nothing about the grant's content is. */
export class GrantError extends Error {
  constructor(
    readonly code:
      | "malformed"
      | "bad_signature"
      | "unknown_signer"
      | "wrong_instance"
      | "expired"
      | "not_yet_valid"
      | "delegation_invalid"
      | "box_key_uncertified"
      | "revoked",
  ) {
    super(`grant refused: ${code}`);
    this.name = "GrantError";
  }
}

/** A verified grant: who may do what here, until when, and who vouched for it. */
export interface VerifiedGrant extends TGrantBody {
  /** "signer" when the pinned signer signed it, "delegated" for a delegated admin. */
  via: "signer" | "delegated";
  /**
   * The pinned signer's own account: the signer signed this grant for its own identity key (and
   * only the signer can certify a box key under that key, which the session is keyed with).
   * Never revoked.
   */
  heldBySigner: boolean;
  /** The delegation the grant was signed under (delegated admins only): whose, and when issued. */
  delegatedBy?: { accountId: string; issuedAt: number };
  /**
   * When the grant stops being honoured: the grant's own expiry, or its delegation's when that
   * comes first (a delegated admin's grants last no longer than the delegation that vouches for
   * them). Every check after the session opens reads this field.
   */
  expiresAt: number;
  /** Epoch of the account's box-key certificate (pin it: a lower one later is a rollback). */
  boxKeyEpoch: number;
  /** Hex identity fingerprint of the key that signed the grant (recorded in the audit log). */
  signerFingerprint?: string;
}

/**
 * The account's one X25519 key is certified with purpose "box" at sign-up, and that same key is
 * the Noise initiator's static key. Exactly one purpose is accepted, so a key certified for
 * another use (a vault key, say) can never stand in for it.
 */
const ACCOUNT_BOX_PURPOSE = "box";

function certifiedBoxKey(bundle: { boxKeyCertificate: unknown }, g: TGrantBody, minEpoch: number): CertifiedBoxKey {
  const identity = publicKey(g.identityPublicKey);
  try {
    return verifyBoxKeyCertificate(bundle.boxKeyCertificate as SignedStatement, identity, {
      ownerKind: "account",
      ownerId: g.accountId,
      purpose: ACCOUNT_BOX_PURPOSE,
      minEpoch,
    });
  } catch {
    throw new GrantError("box_key_uncertified");
  }
}

/** Allowed clock skew between the browser that signed and this host. */
export const GRANT_CLOCK_SKEW_MS = 5 * 60_000;

function publicKey(b64: string): IdentityPublicKey {
  try {
    return identityPublicKey(fromBase64Url(b64));
  } catch {
    throw new GrantError("malformed");
  }
}

function verified(statement: unknown, domain: string, key: IdentityPublicKey, code: GrantError["code"]): unknown {
  try {
    return verifyStatement(statement as SignedStatement, domain, key);
  } catch {
    throw new GrantError(code);
  }
}

/**
 * Verifies a grant bundle (JSON text from a session-open frame) for this instance at `now`:
 * the grant is signed by the pinned signer, or by an admin key that the pinned signer
 * delegated for this instance (one level: a delegation signed by anyone else is refused); it
 * names this instance; it is within its validity window; and its box key is the one the
 * account's identity key certified (epoch not below the pinned one). Only then is its content
 * trusted.
 */
export function verifyGrantBundle(
  bundleJson: string,
  context: {
    instanceId: string;
    signer: IdentityPublicKey;
    now: number;
    /** The lowest epoch accepted for the account's box-key certificate under this identity key. */
    minBoxKeyEpoch?: (accountId: string, identityPublicKey: string) => number;
    /** Grants (and delegations) of this account issued at or before the returned time are revoked (`grants.revoke`). */
    revokedBefore?: (accountId: string) => number | undefined;
  },
): VerifiedGrant {
  const revoked = (accountId: string, issuedAt: number): boolean => {
    const before = context.revokedBefore?.(accountId);
    return before !== undefined && issuedAt <= before;
  };
  if (bundleJson.length > MAX_GRANT_BUNDLE_BYTES) throw new GrantError("malformed");
  let raw: unknown;
  try {
    raw = JSON.parse(bundleJson);
  } catch {
    throw new GrantError("malformed");
  }
  const bundle = ZGrantBundleSchema.safeParse(raw);
  if (!bundle.success) throw new GrantError("malformed");
  const signerKey = publicKey(bundle.data.signerPublicKey);
  let via: VerifiedGrant["via"] = "signer";
  let delegatedBy: VerifiedGrant["delegatedBy"];
  let delegationExpiresAt = Number.POSITIVE_INFINITY;
  if (!constantTimeEqual(signerKey, context.signer)) {
    // Not the pinned signer: only acceptable with a delegation the pinned signer made for this key.
    if (bundle.data.delegation === undefined) throw new GrantError("unknown_signer");
    const delegation = ZAdminDelegationBodySchema.safeParse(
      verified(bundle.data.delegation, ADMIN_DELEGATION_DOMAIN, context.signer, "delegation_invalid"),
    );
    if (!delegation.success) throw new GrantError("delegation_invalid");
    const d = delegation.data;
    if (d.instanceId !== context.instanceId || !constantTimeEqual(publicKey(d.adminIdentityPublicKey), signerKey))
      throw new GrantError("delegation_invalid");
    if (d.expiresAt <= context.now || d.issuedAt > context.now + GRANT_CLOCK_SKEW_MS)
      throw new GrantError("delegation_invalid");
    if (revoked(d.adminAccountId, d.issuedAt)) throw new GrantError("revoked");
    via = "delegated";
    delegatedBy = { accountId: d.adminAccountId, issuedAt: d.issuedAt };
    delegationExpiresAt = d.expiresAt;
  } else if (bundle.data.delegation !== undefined) {
    throw new GrantError("malformed");
  }
  const body = ZGrantBodySchema.safeParse(verified(bundle.data.grant, GRANT_DOMAIN, signerKey, "bad_signature"));
  if (!body.success) throw new GrantError("malformed");
  const g = body.data;
  if (g.instanceId !== context.instanceId) throw new GrantError("wrong_instance");
  if (g.expiresAt <= context.now) throw new GrantError("expired");
  if (g.issuedAt > context.now + GRANT_CLOCK_SKEW_MS) throw new GrantError("not_yet_valid");
  // The signer's own grant is never refused as revoked: whoever holds the signer key can sign
  // itself another, and an administrator revoking the signer's account would otherwise lock out
  // the one account that can revoke that administrator.
  const heldBySigner = via === "signer" && constantTimeEqual(publicKey(g.identityPublicKey), context.signer);
  if (!heldBySigner && revoked(g.accountId, g.issuedAt)) throw new GrantError("revoked");
  // A revoked delegated admin's grants stay revoked when a console pairs them with a newer
  // delegation of the same key: the grant's own date decides, as for the delegation's.
  if (delegatedBy !== undefined && revoked(delegatedBy.accountId, g.issuedAt)) throw new GrantError("revoked");
  // The box key must be the one the account itself certified, not just the one the grant names.
  const certified = certifiedBoxKey(bundle.data, g, context.minBoxKeyEpoch?.(g.accountId, g.identityPublicKey) ?? 0);
  if (!constantTimeEqual(certified.boxPublicKey, fromBase64Url(g.boxPublicKey)))
    throw new GrantError("box_key_uncertified");
  return {
    ...g,
    expiresAt: Math.min(g.expiresAt, delegationExpiresAt),
    via,
    heldBySigner,
    ...(delegatedBy !== undefined ? { delegatedBy } : {}),
    boxKeyEpoch: certified.epoch,
    signerFingerprint: toHex(fingerprint(signerKey)),
  };
}

/**
 * Whether revoking `accountId`'s grants issued at or before `before` revokes `grant`: its own, or
 * one signed under that account's admin delegation (the delegation or the grant dated at or
 * before `before`). The same rule {@link verifyGrantBundle} applies with `revokedBefore`: the
 * signer's own grant is never revoked.
 */
export function revokedBy(grant: VerifiedGrant, accountId: string, before: number): boolean {
  if (grant.heldBySigner) return false;
  if (grant.accountId === accountId && grant.issuedAt <= before) return true;
  const by = grant.delegatedBy;
  return by?.accountId === accountId && (by.issuedAt <= before || grant.issuedAt <= before);
}
