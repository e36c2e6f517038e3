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
 * The grants card shows the grantee's safety code from the same signed body, in the row and in
 * the confirmation.
 *
 * `issuedAt` is this browser's clock now, never a time read from the console's listing: the
 * console chooses which grant it lists, so a revocation up to the listed grant's issue time
 * would miss a newer grant it kept quiet about, and the page would still say the grant is
 * revoked. The companion accepts a time up to its grant clock skew (5 min,
 * apps/companion/src/grants/verify-grant.ts) ahead of its own clock. A re-grant is dated after
 * the `revokedBefore` it answers (grant-account.ts).
 */
import { fromBase64Url, identityPublicKey, safetyCode } from "@veil/crypto";
import type { TGrantRevokeResult, TGrantSummary } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import * as api from "./endpoints";
import { grantBody } from "./trust";

/** Who a listed grant was signed for, read from its verified body. */
export interface Grantee {
  readonly accountId: string;
  /** Safety code of the identity key the signed grant names (compare with the person's /account page). */
  readonly safetyCode: string;
}

/**
 * The grantee of a listed grant when its signature verifies and the row agrees with the signed
 * body (account and instance); null otherwise, and such a row offers no revocation.
 */
export function revocableGrantee(grant: TGrantSummary, instanceId: string): Grantee | null {
  const checked = grantBody(grant.bundle);
  if (!checked) return null;
  const { body } = checked;
  if (body.accountId.toLowerCase() !== grant.accountId.toLowerCase()) return null;
  if (body.instanceId.toLowerCase() !== instanceId.toLowerCase()) return null;
  try {
    return {
      accountId: body.accountId.toLowerCase(),
      safetyCode: safetyCode(identityPublicKey(fromBase64Url(body.identityPublicKey))),
    };
  } catch {
    return null;
  }
}

export interface GrantRevocation {
  /** The grant as the console listed it: the account is read from its verified signed body. */
  readonly grant: TGrantSummary;
  /** The certified instance id (VerifiedInstance.body), where the console drops the row. */
  readonly instanceId: string;
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
  const { grant, instanceId, withStepUp, phase, now = Date.now } = revocation;
  const grantee = revocableGrantee(grant, instanceId);
  if (!grantee)
    throw new Error(
      "This grant's signature does not verify or does not match the console's listing. Nothing was revoked.",
    );
  const { accountId } = grantee;
  phase("The companion is recording the revocation");
  const result = await channel.request("grants.revoke", { accountId, issuedAt: now() });
  phase("Removing the grant from the console's list");
  await withStepUp(() => api.revokeGrant(instanceId, { accountId }));
  return result;
}
