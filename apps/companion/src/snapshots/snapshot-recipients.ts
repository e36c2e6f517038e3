import { boxPublicKey, fromBase64Url, toBase64Url, type BoxPublicKey, type IdentityPublicKey } from "../crypto";
import { MAX_RECIPIENTS } from "../crypto";
import type { TGrantBundle } from "../protocol";
import { GrantError, verifyGrantBundle } from "../grants/verify-grant";
import type { EpochFloors } from "../grants/box-key-epochs";

/** Who a snapshot is sealed to, and what was refused (codes only: nothing of a grant is logged). */
export interface SnapshotRecipients {
  readonly keys: BoxPublicKey[];
  /** Account ids with a verified, unexpired grant. */
  readonly accounts: string[];
  /** GrantError code → how many grants were refused with it. */
  readonly refused: Record<string, number>;
}

/**
 * The current grantees, from the grant bundles the console listed: each bundle is verified here
 * exactly as a session-open would be (pinned signer or a delegation it signed, this instance,
 * not expired, not revoked by `grants.revoke`, box key certified by the account's identity key
 * at an epoch not below the one pinned), so a console that lists a grant it made for a key of
 * its own, or keeps listing a revoked one, gets no recipient slot.
 * Epochs seen are pinned in `epochs` (a later, lower one is a rollback). Distinct keys only, at
 * most MAX_RECIPIENTS.
 */
export function snapshotRecipients(
  bundles: readonly TGrantBundle[],
  context: {
    instanceId: string;
    signer: IdentityPublicKey;
    now: number;
    epochs: EpochFloors;
    revokedBefore?: (accountId: string) => number | undefined;
  },
): SnapshotRecipients {
  const keys = new Map<string, BoxPublicKey>();
  const accounts = new Set<string>();
  const refused: Record<string, number> = {};
  for (const bundle of bundles) {
    try {
      const g = verifyGrantBundle(JSON.stringify(bundle), {
        instanceId: context.instanceId,
        signer: context.signer,
        now: context.now,
        minBoxKeyEpoch: (accountId, identityKey) => context.epochs.floor(accountId, identityKey),
        ...(context.revokedBefore !== undefined ? { revokedBefore: context.revokedBefore } : {}),
      });
      context.epochs.raise(g.accountId, g.identityPublicKey, g.boxKeyEpoch, g.via);
      const key = boxPublicKey(fromBase64Url(g.boxPublicKey));
      if (keys.size < MAX_RECIPIENTS) keys.set(toBase64Url(key), key);
      accounts.add(g.accountId);
    } catch (error) {
      const code = error instanceof GrantError ? error.code : "malformed";
      refused[code] = (refused[code] ?? 0) + 1;
    }
  }
  return { keys: [...keys.values()], accounts: [...accounts], refused };
}
