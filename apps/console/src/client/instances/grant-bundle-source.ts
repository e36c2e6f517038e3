import { toBase64Url } from "@veil/crypto";
import type { TGrantBundle } from "@veil/protocol";
import * as api from "./endpoints";
import type { Ready } from "./ready-session";
import {
  grantBody,
  grantMatchesSigner,
  isSigner,
  ownPublicKeys,
  SELF_SESSION_GRANT_MS,
  signGrant,
  type VerifiedInstance,
} from "./trust";
import { NoGrantError } from "./use-channel";

/**
 * The grant this browser presents on the instance `verified` certifies (its id comes from the
 * certificate, never from the console's listing): a fresh one it signs itself when it holds the
 * signer key, for the key pairs it holds (ownPublicKeys), else its stored grant (checked).
 */
export function bundleSource(session: Ready, verified: VerifiedInstance): () => Promise<TGrantBundle> {
  const { me, keys } = session;
  const instanceId = verified.body.instanceId;
  return async () => {
    if (isSigner(verified, keys)) {
      return signGrant(
        keys.identity.privateKey,
        keys.identity.publicKey,
        instanceId,
        ownPublicKeys(me.user.id, keys, me.keys.boxKeyCertificate),
        "admin",
        Date.now() + SELF_SESSION_GRANT_MS,
      );
    }
    const { grants } = await api.listGrants(instanceId);
    const mine = grants.find((g) => g.accountId.toLowerCase() === me.user.id.toLowerCase());
    const checked = mine ? grantBody(mine.bundle) : null;
    if (!mine || !checked)
      throw new NoGrantError(
        "You hold no grant on this instance. Ask the administrator who added it for one (send them your key card).",
      );
    const b = checked.body;
    // A console that hands us someone else's grant (or one for another key) gets nothing from us.
    if (
      b.instanceId.toLowerCase() !== instanceId.toLowerCase() ||
      b.accountId.toLowerCase() !== me.user.id.toLowerCase() ||
      b.boxPublicKey !== toBase64Url(keys.box.publicKey)
    )
      throw new NoGrantError(
        "The grant the console served is not for your keys; the console may have been tampered with.",
      );
    if (b.expiresAt <= Date.now())
      throw new NoGrantError("Your grant on this instance has expired. Ask an administrator to renew it.");
    if (!grantMatchesSigner(mine.bundle, verified, instanceId))
      throw new NoGrantError(
        "Your grant was not signed by the key that signed this instance; the console may have been tampered with. No session was opened.",
      );
    return mine.bundle;
  };
}
