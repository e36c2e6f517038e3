/**
 * Signing a grant for an account from its key card (the grants card's form). A grant cannot be
 * replaced, only outlived: the companion honours every grant signed for an account until it
 * expires or is revoked, and the console chooses which one it lists. So an account's earlier
 * grants are revoked on the companion first (`grants.revoke`, end to end) and the new grant is
 * dated after that revocation. Otherwise "changing" an admin to a viewer would leave the admin
 * grant, and its delegation to sign more grants, working in the account's hands.
 *
 * The one exception is an admin grant with a delegation: nothing an earlier grant allowed is
 * taken away, and revoking would also end every grant that account signed under its delegation.
 *
 * Without an open administrator session nothing can be revoked; the grant is then signed as for
 * a new account, and the form says so before it is sent.
 *
 * A browser never grants its own account: revoking it would end the delegation it signs under,
 * and every grant it signed with it (the signer's browser signs itself a fresh grant for every
 * session and needs none).
 */
import type { IdentityPrivateKey, SignedStatement } from "@veil/crypto";
import type { TGrantSummary, TRole } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import * as api from "./endpoints";
import { signDelegation, signGrant, type AccountPublicKeys } from "./trust";

export interface GrantRequest {
  /** This browser's identity key pair: the instance's signer, or an administrator it delegated. */
  readonly signer: { readonly privateKey: IdentityPrivateKey; readonly publicKey: Uint8Array };
  /** The certified instance id (VerifiedInstance.body). */
  readonly instanceId: string;
  /** The grantee's keys, from its key card (checked by decodeKeyCard). */
  readonly account: AccountPublicKeys;
  /** This browser's own account. */
  readonly ownAccountId: string;
  readonly role: TRole;
  readonly days: number;
  /** Whether the grant carries an admin delegation signed here (the signer only, role admin). */
  readonly delegate: boolean;
  /** The delegation this browser signs under, when it is not the signer. */
  readonly underDelegation?: SignedStatement;
  /** An open session as an administrator of the instance; null when there is none. */
  readonly adminChannel: Pick<InstanceChannel, "request"> | null;
  /** Wraps the console call (step-up re-authentication). */
  readonly withStepUp: <T>(call: () => Promise<T>) => Promise<T>;
  readonly phase: (label: string) => void;
  /** This browser's clock (tests). */
  readonly now?: () => number;
}

const DAY_MS = 24 * 3600_000;

/** Whether signing this grant first revokes the account's earlier ones (see the module comment). */
export const revokesEarlierGrants = (role: TRole, delegate: boolean): boolean => !(role === "admin" && delegate);

/** Revokes the account's earlier grants where it should and can, then signs the grant and stores it. */
export async function grantAccount(request: GrantRequest): Promise<{ grant: TGrantSummary }> {
  const { signer, instanceId, account, role, days, delegate, adminChannel, withStepUp, phase } = request;
  const now = request.now ?? Date.now;
  if (account.accountId.toLowerCase() === request.ownAccountId.toLowerCase())
    throw new Error(
      "This is your own key card. Your own grant is not changed here: the instance's signer renews it (its own browser needs none).",
    );
  let issuedAt = now();
  if (adminChannel && revokesEarlierGrants(role, delegate)) {
    phase("The companion is revoking the account's earlier grants");
    const { revokedBefore } = await adminChannel.request("grants.revoke", {
      accountId: account.accountId.toLowerCase(),
      issuedAt,
    });
    // Dated after the revocation, or the companion would refuse the new grant with the old ones.
    issuedAt = Math.max(issuedAt, revokedBefore + 1);
  }
  const expiresAt = now() + days * DAY_MS;
  const bundle = signGrant(
    signer.privateKey,
    signer.publicKey,
    instanceId,
    account,
    role,
    expiresAt,
    issuedAt,
    request.underDelegation,
  );
  const delegation = delegate ? signDelegation(signer.privateKey, instanceId, account, expiresAt, issuedAt) : undefined;
  phase("Storing the grant on the console");
  return withStepUp(() =>
    api.createGrant(instanceId, {
      accountId: account.accountId,
      role,
      expiresAt,
      bundle,
      ...(delegation ? { delegation } : {}),
    }),
  );
}
