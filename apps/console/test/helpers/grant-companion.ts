// A companion's grant checks for browser-side tests of granting and revoking: its own revocation
// record and time check (apps/companion/src/grants/grant-revocations.ts) behind a fake admin
// channel, and its own grant verification (verify-grant.ts).
import { certifyBoxKey, generateBoxKeyPair, generateIdentityKeyPair, toBase64Url } from "@veil/crypto";
import type { TGrantBundle, TGrantRevokeBody } from "@veil/protocol";
import { GrantRevocations, revocationTime } from "../../../companion/src/grants/grant-revocations";
import { GrantError, verifyGrantBundle } from "../../../companion/src/grants/verify-grant";
import type { AccountPublicKeys } from "../../src/client/instances/trust";

export interface GrantCompanion {
  /** The fake admin channel (only `grants.revoke`). */
  readonly channel: never;
  /** Every `grants.revoke` body it received. */
  readonly revocations: TGrantRevokeBody[];
  /** Whether the companion accepts `bundle` now; false only when it is refused as revoked. */
  accepts(bundle: TGrantBundle): boolean;
}

/** Whose share of the revocation record the fake admin channel's revocations count against. */
const ADMIN = crypto.randomUUID();

export function grantCompanion(instanceId: string, signerPublicKey: Uint8Array): GrantCompanion {
  let saved = {};
  const record = new GrantRevocations({ loadRevocations: () => saved, saveRevocations: (r) => void (saved = r) });
  const revocations: TGrantRevokeBody[] = [];
  const channel = {
    // As the companion's handler: a time it refuses throws, which the channel answers as an error.
    request: (type: string, body: TGrantRevokeBody) =>
      Promise.resolve().then(() => {
        if (type !== "grants.revoke") throw new Error(`unexpected request ${type}`);
        revocations.push(body);
        const now = Date.now();
        const revokedBefore = record.revoke(body.accountId, revocationTime(body.issuedAt, now), {
          share: ADMIN,
          now,
        });
        return { revokedBefore, closedSessions: 0 };
      }),
  };
  const accepts = (bundle: TGrantBundle): boolean => {
    try {
      verifyGrantBundle(JSON.stringify(bundle), {
        instanceId,
        signer: signerPublicKey as never,
        now: Date.now(),
        revokedBefore: (accountId) => record.before(accountId),
      });
      return true;
    } catch (error) {
      if (error instanceof GrantError && error.code === "revoked") return false;
      throw error;
    }
  };
  return { channel: channel as never, revocations, accepts };
}

/** An account's key pairs and the public keys its key card carries. */
export function testAccount(): { keys: AccountPublicKeys; identity: ReturnType<typeof generateIdentityKeyPair> } {
  const accountId = crypto.randomUUID();
  const identity = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  return {
    identity,
    keys: {
      accountId,
      identityPublicKey: toBase64Url(identity.publicKey),
      boxPublicKey: toBase64Url(box.publicKey),
      boxKeyCertificate: certifyBoxKey(identity.privateKey, box.publicKey, {
        ownerKind: "account",
        purpose: "box",
        ownerId: accountId,
        epoch: 0,
      }),
    },
  };
}
