// A companion's grant checks for browser-side tests of granting and revoking: its revocation
// record behind a fake admin channel, and its own grant verification (verifyGrantBundle from
// apps/companion/src/grants/verify-grant.ts). The record follows the companion's `grants.revoke`
// handler (apps/companion/src/e2e/requests/create-handlers.ts): a time past its clock plus the
// grant skew is refused, and the account is revoked up to that bound, whatever time was asked.
import { expect } from "vitest";
import { certifyBoxKey, generateBoxKeyPair, generateIdentityKeyPair, toBase64Url } from "@veil/crypto";
import type { TGrantBundle, TGrantRevokeBody } from "@veil/protocol";
import { GRANT_CLOCK_SKEW_MS, GrantError, verifyGrantBundle } from "../../../companion/src/grants/verify-grant";
import type { AccountPublicKeys } from "../../src/client/instances/trust";

export interface GrantCompanion {
  /** The fake admin channel (only `grants.revoke`). */
  readonly channel: never;
  /** Every `grants.revoke` body it received. */
  readonly revocations: TGrantRevokeBody[];
  /** Whether the companion accepts `bundle` now; false only when it is refused as revoked. */
  accepts(bundle: TGrantBundle): boolean;
}

export function grantCompanion(instanceId: string, signerPublicKey: Uint8Array): GrantCompanion {
  const before = new Map<string, number>();
  const revocations: TGrantRevokeBody[] = [];
  const channel = {
    request: (type: string, body: TGrantRevokeBody) => {
      expect(type).toBe("grants.revoke");
      revocations.push(body);
      const latest = Date.now() + GRANT_CLOCK_SKEW_MS;
      if (body.issuedAt > latest) return Promise.reject(new Error("bad_request"));
      const next = Math.max(before.get(body.accountId) ?? 0, latest);
      before.set(body.accountId, next);
      return Promise.resolve({ revokedBefore: next, closedSessions: 0 });
    },
  };
  const accepts = (bundle: TGrantBundle): boolean => {
    try {
      verifyGrantBundle(JSON.stringify(bundle), {
        instanceId,
        signer: signerPublicKey as never,
        now: Date.now(),
        revokedBefore: (accountId) => before.get(accountId),
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
