/**
 * Revoking an account's grant before it expires (an administrator with an open session). The
 * companion records the revocation first, end to end (`grants.revoke`: it refuses, from then on,
 * every grant of the account, and every grant signed under its delegation, issued at or before
 * `issuedAt`); only then does the console drop its row.
 *
 * The account revoked is the one the signed grant names, never the listing's unsigned
 * `accountId`, and the row must agree with its signed body (same account, this instance): a
 * console that files Mallory's grant under Carol's account id (and maps that id to Mallory's
 * e-mail) would otherwise have the administrator revoke Carol while Mallory keeps her access.
 * The grant must also be signed by this instance's certificate signer, or by a key that signer
 * delegated to for this instance (`grantMatchesSigner`): a grant the console signed under its own
 * key can name Carol's account id with Mallory's identity key, so the row would show Mallory's
 * real safety code while Revoke cut off Carol. The grants card shows the grantee's safety code
 * only on such rows, in the row and first in the confirmation; the console's e-mail for the
 * account only when it is a well-formed address (it is the console's mapping, unsigned).
 *
 * `issuedAt` is this browser's clock now, never a time read from the console's listing: the
 * console chooses which grant it lists, so a revocation up to the listed grant's issue time
 * would miss a newer grant it kept quiet about, and the page would still say the grant is
 * revoked. The companion accepts a time up to its grant clock skew (5 min,
 * apps/companion/src/grants/verify-grant.ts) ahead of its own clock. A re-grant is dated after
 * the `revokedBefore` it answers (grant-account.ts).
 */
import { fromBase64Url, identityPublicKey, safetyCode } from "@veil/crypto";
import { ZEmailSchema, type TGrantRevokeResult, type TGrantSummary } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import * as api from "./endpoints";
import { grantBody, grantMatchesSigner, type VerifiedInstance } from "./trust";

/** Who a listed grant was signed for, read from its verified body. */
export interface Grantee {
  readonly accountId: string;
  /** Safety code of the identity key the signed grant names (compare with the person's /account page). */
  readonly safetyCode: string;
}

/**
 * The grantee of a listed grant when its signature verifies, it hangs off `verified`'s signer
 * (signed by it, or under a delegation from it for this instance, checked here), and the row
 * agrees with the signed body (account, this instance); null otherwise, and such a row
 * shows no grantee safety code and offers no revocation.
 */
export function revocableGrantee(grant: TGrantSummary, verified: VerifiedInstance): Grantee | null {
  const instanceId = verified.body.instanceId;
  const checked = grantBody(grant.bundle);
  if (!checked) return null;
  const { body } = checked;
  if (body.accountId.toLowerCase() !== grant.accountId.toLowerCase()) return null;
  if (body.instanceId.toLowerCase() !== instanceId.toLowerCase()) return null;
  if (!grantMatchesSigner(grant.bundle, verified, instanceId)) return null;
  try {
    return {
      accountId: body.accountId.toLowerCase(),
      safetyCode: safetyCode(identityPublicKey(fromBase64Url(body.identityPublicKey))),
    };
  } catch {
    return null;
  }
}

/**
 * The console's e-mail for an account, as the grants card may show it: only a well-formed address
 * (the protocol's e-mail schema: no spaces, no line breaks, so no text posing as a safety code or
 * pushing the real one out of a confirmation); null otherwise, and the card shows the account id.
 */
export function shownEmail(email: string | undefined): string | null {
  if (email === undefined) return null;
  const parsed = ZEmailSchema.safeParse(email);
  return parsed.success ? parsed.data : null;
}

/**
 * The Revoke confirmation: the grantee's safety code (from the checked signed grant) first and on
 * its own line, then who the console says it is (`who`: a {@link shownEmail} or the account id).
 */
export function revokeConfirmation(grantee: Grantee, who: string): string {
  return [
    "Grantee's safety code:",
    grantee.safetyCode,
    "",
    `Revoke the grants of this account (${who})? Compare the safety code above with the one they read from their account page. Every grant they hold here ends, and their sessions on this site end now.`,
  ].join("\n");
}

export interface GrantRevocation {
  /** The grant as the console listed it: the account is read from its verified signed body. */
  readonly grant: TGrantSummary;
  /** The verified instance: its certified id (where the console drops the row) and its signer. */
  readonly verified: VerifiedInstance;
  /** Wraps the console call (step-up re-authentication). */
  readonly withStepUp: <T>(call: () => Promise<T>) => Promise<T>;
  readonly phase: (label: string) => void;
  /** This browser's clock (tests). */
  readonly now?: () => number;
}

/** Sends `grants.revoke` to the companion, then drops the console's row; the companion's answer. */
export async function revokeGrant(
  channel: Pick<InstanceChannel, "request">,
  revocation: GrantRevocation,
): Promise<TGrantRevokeResult> {
  const { grant, verified, withStepUp, phase, now = Date.now } = revocation;
  const instanceId = verified.body.instanceId;
  const grantee = revocableGrantee(grant, verified);
  if (!grantee)
    throw new Error(
      "This grant's signature does not verify, it is not signed by this instance's signer or a delegate, or it does not match the console's listing. Nothing was revoked.",
    );
  const { accountId } = grantee;
  phase("The companion is recording the revocation");
  const result = await channel.request("grants.revoke", { accountId, issuedAt: now() });
  phase("Removing the grant from the console's list");
  await withStepUp(() => api.revokeGrant(instanceId, { accountId }));
  return result;
}
