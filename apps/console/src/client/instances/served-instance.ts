/**
 * What an instance page takes from the console's unsigned summary, and what only from the
 * verified certificate. The summary is polled every few seconds, so every poll is checked: it
 * must be the page's instance, and a change to anything the verification read is verified again.
 * The id and the name the page shows and signs for come from the certificate body.
 */
import type { TInstanceSummary } from "@veil/protocol";
import type { AccountKeyPairs } from "../account-keys";
import { InstanceTrustError, isSigner, signerPinState, verifyInstance, type VerifiedInstance } from "./trust";
import type { LocalOwner } from "../local-records";
import type { InstanceVerification } from "./use-instance-verification";

/**
 * The summary served for the page of `routeId`, refused when it names another instance: grants,
 * delegations and revocations are then never made for an id the console slipped in.
 */
export function checkServedInstance(routeId: string, served: TInstanceSummary): TInstanceSummary {
  if (served.id.toLowerCase() !== routeId.toLowerCase())
    throw new InstanceTrustError("the console served another instance for this page");
  return served;
}

/**
 * Everything the verification of a summary reads (verifyInstance and the "you added it" rule):
 * the id, the admin the console names, the listed keys and the certificate. The verification is
 * cached on this key, so a poll that changes any of them is verified again.
 */
export function verificationKey(instance: TInstanceSummary | null): string {
  if (!instance) return "";
  return JSON.stringify([
    instance.id,
    instance.adminUserId,
    instance.identityPublicKey,
    instance.boxPublicKey,
    instance.certificate,
  ]);
}

/**
 * The name an instance page shows: the one its certificate signed once the certificate verified
 * (also while its signer awaits the member's confirmation), else the served one, marked
 * `certified: false`.
 */
export function shownName(
  instance: TInstanceSummary,
  verification: InstanceVerification,
): { name: string; certified: boolean } {
  const verified =
    verification && "ok" in verification
      ? verification.ok
      : verification && "unconfirmed" in verification
        ? verification.unconfirmed
        : null;
  return verified ? { name: verified.body.name, certified: true } : { name: instance.name, certified: false };
}

const listed = new Map<string, VerifiedInstance | null>();
const MAX_LISTED = 1000;

/**
 * A listed instance's certificate, verified once per {@link verificationKey} (the list polls every
 * few seconds): the verified certificate, or null when it does not verify. The list shows the
 * certified name; the instance page also checks the signer before anything end to end.
 */
export function verifyListed(instance: TInstanceSummary): VerifiedInstance | null {
  const key = verificationKey(instance);
  const known = listed.get(key);
  if (known !== undefined) return known;
  let verified: VerifiedInstance | null;
  try {
    verified = verifyInstance(instance);
  } catch {
    verified = null;
  }
  if (listed.size >= MAX_LISTED) listed.clear();
  listed.set(key, verified);
  return verified;
}

/**
 * How far the list may vouch for a listed instance's certified name: "yours" (this account's key
 * signed it), "confirmed" (its signer is pinned for this account), "unconfirmed" (the console
 * may have signed the certificate itself: the member has not compared the signer's safety code
 * yet, which the instance page asks for), "changed" (another signer than the pinned one), or
 * "unverified" (the certificate does not verify).
 */
export type ListedTrust = "yours" | "confirmed" | "unconfirmed" | "changed" | "unverified";

/** {@link ListedTrust} of a listed instance for the signed-in account. */
export function listedTrust(instance: TInstanceSummary, keys: AccountKeyPairs, owner: LocalOwner | null): ListedTrust {
  const verified = verifyListed(instance);
  if (!verified) return "unverified";
  if (isSigner(verified, keys)) return "yours";
  try {
    return signerPinState(instance.id, verified, owner) === "pinned" ? "confirmed" : "unconfirmed";
  } catch {
    return "changed";
  }
}
