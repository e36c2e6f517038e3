/**
 * Revoking an account's grant before it expires (an administrator with an open session). The
 * companion records the revocation first, end to end (`grants.revoke`: it refuses, from then on,
 * every grant of the account, and every grant signed under its delegation, issued at or before
 * `issuedAt`); only then does the console drop its row.
 *
 * `issuedAt` is this browser's clock now, never a time read from the console's listing: the
 * console chooses which grant it lists, so a revocation up to the listed grant's issue time
 * would miss a newer grant it kept quiet about, and the page would still say the grant is
 * revoked. The companion accepts a time up to its grant clock skew (5 min,
 * apps/companion/src/grants/verify-grant.ts) ahead of its own clock. A re-grant is dated after
 * the `revokedBefore` it answers (grant-account.ts).
 */
import type { TGrantRevokeResult, TGrantSummary } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import * as api from "./endpoints";

export interface GrantRevocation {
  /** The grant as the console listed it: only its account is used. */
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
  const accountId = grant.accountId.toLowerCase();
  phase("The companion is recording the revocation");
  const result = await channel.request("grants.revoke", { accountId, issuedAt: now() });
  phase("Removing the grant from the console's list");
  await withStepUp(() => api.revokeGrant(instanceId, { accountId: grant.accountId }));
  return result;
}
