import type { TGrantBundle, TInstanceSummary } from "@veil/protocol";
import * as api from "./endpoints";
import type { Ready } from "./ready-session";
import {
  decodeBoxKeyCertificate,
  grantBody,
  grantMatchesSigner,
  isSigner,
  SELF_SESSION_GRANT_MS,
  signGrant,
  type VerifiedInstance,
} from "./trust";
import { NoGrantError } from "./use-channel";

/** The grant this browser presents: a fresh one it signs itself when it holds the signer key, else its stored grant (checked). */
export function bundleSource(
  session: Ready,
  instance: TInstanceSummary,
  verified: VerifiedInstance,
): () => Promise<TGrantBundle> {
  const { me, keys } = session;
  return async () => {
    if (isSigner(verified, keys)) {
      return signGrant(
        keys.identity.privateKey,
        keys.identity.publicKey,
        instance.id,
        {
          accountId: me.user.id,
          identityPublicKey: me.keys.identityPublicKey,
          boxPublicKey: me.keys.boxPublicKey,
          boxKeyCertificate: decodeBoxKeyCertificate(me.keys.boxKeyCertificate),
        },
        "admin",
        Date.now() + SELF_SESSION_GRANT_MS,
      );
    }
    const { grants } = await api.listGrants(instance.id);
    const mine = grants.find((g) => g.accountId.toLowerCase() === me.user.id.toLowerCase());
    const checked = mine ? grantBody(mine.bundle) : null;
    if (!mine || !checked)
      throw new NoGrantError(
        "You hold no grant on this instance. Ask the administrator who added it for one (send them your key card).",
      );
    const b = checked.body;
    // A console that hands us someone else's grant (or one for another key) gets nothing from us.
    if (
      b.instanceId.toLowerCase() !== instance.id.toLowerCase() ||
      b.accountId.toLowerCase() !== me.user.id.toLowerCase() ||
      b.boxPublicKey !== me.keys.boxPublicKey
    )
      throw new NoGrantError(
        "The grant the console served is not for your keys; the console may have been tampered with.",
      );
    if (b.expiresAt <= Date.now())
      throw new NoGrantError("Your grant on this instance has expired. Ask an administrator to renew it.");
    if (!grantMatchesSigner(mine.bundle, verified, instance.id))
      throw new NoGrantError(
        "Your grant was not signed by the key that signed this instance; the console may have been tampered with. No session was opened.",
      );
    return mine.bundle;
  };
}
