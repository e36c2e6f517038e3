// The grants card's Revoke (client/instances/revoke-grant.ts) against a console that signs grants
// itself. A grant's signature alone proves nothing: anyone can sign one under their own key. A
// console that signs a grant naming Carol's account id with Mallory's identity key, hides
// Mallory's real grant and maps Carol's id to "mallory@…" would get a row showing Mallory's real
// safety code whose Revoke cuts off Carol. Only a grant signed by the instance's certificate
// signer, or by a key that signer delegated to for this instance, names a grantee and offers
// Revoke; the revocation checks that again.
import { describe, expect, it, vi } from "vitest";
import { generateIdentityKeyPair, signStatement, toBase64Url } from "@veil/crypto";
import { GRANT_DOMAIN, ZGrantBodySchema, type TGrantBundle, type TGrantSummary } from "@veil/protocol";
import { grantCompanion, testAccount } from "./helpers/grant-companion";
import { grantRow, verifiedInstance } from "./helpers/verified-instance";

const fake = vi.hoisted(() => ({ dropped: [] as string[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  revokeGrant: (_instanceId: string, body: { accountId: string }) => {
    fake.dropped.push(body.accountId);
    return Promise.resolve({ ok: true });
  },
}));

const { revocableGrantee, revokeGrant } = await import("../src/client/instances/revoke-grant");
const { signDelegation, signGrant } = await import("../src/client/instances/trust");

const day = 86_400_000;
const signer = generateIdentityKeyPair();
const instanceId = crypto.randomUUID();
const verified = verifiedInstance(instanceId, signer);

const row = (bundle: TGrantBundle, accountId: string): TGrantSummary => grantRow(instanceId, bundle, accountId);

/** A grant signed under `key` for `accountId` carrying `keysOf`'s public keys. */
function signedBy(
  key: ReturnType<typeof generateIdentityKeyPair>,
  accountId: string,
  keysOf: ReturnType<typeof testAccount>,
  delegation?: TGrantBundle["delegation"],
): TGrantBundle {
  const body = ZGrantBodySchema.parse({
    grantId: crypto.randomUUID(),
    instanceId,
    accountId,
    identityPublicKey: keysOf.keys.identityPublicKey,
    boxPublicKey: keysOf.keys.boxPublicKey,
    role: "operator",
    issuedAt: Date.now() - 1000,
    expiresAt: Date.now() + day,
  });
  return {
    grant: signStatement(GRANT_DOMAIN, body, key.privateKey),
    signerPublicKey: toBase64Url(key.publicKey),
    ...(delegation ? { delegation } : {}),
    boxKeyCertificate: keysOf.keys.boxKeyCertificate,
  };
}

const revoke = (c: ReturnType<typeof grantCompanion>, grant: TGrantSummary) =>
  revokeGrant(c.channel, { grant, verified, withStepUp: (call) => call(), phase: () => undefined });

describe("a console that signs grants under its own key", () => {
  it("a grant naming Carol's account with Mallory's identity key: no grantee, no Revoke, nothing revoked", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const mallory = testAccount();
    const carol = testAccount();
    const consoleKey = generateIdentityKeyPair();
    const carolsGrant = signGrant(
      signer.privateKey,
      signer.publicKey,
      instanceId,
      carol.keys,
      "operator",
      Date.now() + day,
    );
    fake.dropped = [];
    const forged = row(signedBy(consoleKey, carol.keys.accountId, mallory), carol.keys.accountId);
    expect(revocableGrantee(forged, verified)).toBeNull(); // the card shows no safety code and no Revoke
    await expect(revoke(c, forged)).rejects.toThrow(/Nothing was revoked/);
    expect(c.revocations).toEqual([]);
    expect(fake.dropped).toEqual([]);
    expect(c.accepts(carolsGrant)).toBe(true);
  });

  it("a grant under a delegation the console made itself, or one for another key, names no grantee", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const mallory = testAccount();
    const carol = testAccount();
    const admin = testAccount();
    const consoleKey = generateIdentityKeyPair();
    fake.dropped = [];
    // A delegation the console signed for Mallory's key; and the signer's real delegation for
    // another admin, presented with a grant Mallory's key signed.
    const consoleDelegation = signDelegation(consoleKey.privateKey, instanceId, mallory.keys, Date.now() + day);
    const othersDelegation = signDelegation(signer.privateKey, instanceId, admin.keys, Date.now() + day);
    for (const delegation of [consoleDelegation, othersDelegation]) {
      const forged = row(signedBy(mallory.identity, carol.keys.accountId, mallory, delegation), carol.keys.accountId);
      expect(revocableGrantee(forged, verified)).toBeNull();
      await expect(revoke(c, forged)).rejects.toThrow(/Nothing was revoked/);
    }
    expect(c.revocations).toEqual([]);
    expect(fake.dropped).toEqual([]);
  });

  it("a grant from the signer, or from an admin it delegated for this instance, is revocable", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const admin = testAccount();
    const member = testAccount();
    fake.dropped = [];
    const delegation = signDelegation(signer.privateKey, instanceId, admin.keys, Date.now() + day);
    const delegated = row(signedBy(admin.identity, member.keys.accountId, member, delegation), member.keys.accountId);
    expect(revocableGrantee(delegated, verified)?.accountId).toBe(member.keys.accountId);
    await revoke(c, delegated);
    expect(c.revocations.map((r) => r.accountId)).toEqual([member.keys.accountId]);
    expect(fake.dropped).toEqual([member.keys.accountId]);
  });
});
