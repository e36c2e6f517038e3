// The grants card's Revoke (client/instances/revoke-grant.ts) against a console that relabels
// rows. The listing's `accountId` and the e-mail the console maps it to are unsigned: a console
// that files Mallory's signed grant under Carol's account id (and maps Carol's id to
// "mallory@…") must not get the administrator to revoke Carol while Mallory keeps her access.
// The revocation names the account the signed grant names, a row that disagrees with its signed
// body or does not verify revokes nothing, and the card shows the signed grantee's safety code.
import { describe, expect, it, vi } from "vitest";
import { generateIdentityKeyPair, safetyCode } from "@veil/crypto";
import type { TGrantBundle, TGrantSummary } from "@veil/protocol";
import { grantRow, verifiedInstance } from "./helpers/verified-instance";
import { grantCompanion, testAccount } from "./helpers/grant-companion";

const fake = vi.hoisted(() => ({ dropped: [] as string[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  revokeGrant: (_instanceId: string, body: { accountId: string }) => {
    fake.dropped.push(body.accountId);
    return Promise.resolve({ ok: true });
  },
}));

const { revocableGrantee, revokeGrant } = await import("../src/client/instances/revoke-grant");
const { signGrant } = await import("../src/client/instances/trust");

const signer = generateIdentityKeyPair();
const instanceId = crypto.randomUUID();
const verified = verifiedInstance(instanceId, signer);
const day = 86_400_000;

const row = (bundle: TGrantBundle, accountId: string): TGrantSummary => grantRow(instanceId, bundle, accountId);

function setUp() {
  const c = grantCompanion(instanceId, signer.publicKey);
  const mallory = testAccount();
  const carol = testAccount();
  const sign = (a: ReturnType<typeof testAccount>) =>
    signGrant(
      signer.privateKey,
      signer.publicKey,
      instanceId,
      a.keys,
      "operator",
      Date.now() + 30 * day,
      Date.now() - day,
    );
  return { c, mallory, carol, gm: sign(mallory), gc: sign(carol) };
}

const revoke = (c: ReturnType<typeof grantCompanion>, grant: TGrantSummary) =>
  revokeGrant(c.channel, { grant, verified, withStepUp: (call) => call(), phase: () => undefined });

describe("a console that relabels grant rows", () => {
  it("files Mallory's grant under Carol's account id: nothing is revoked, Carol keeps her access", async () => {
    const { c, mallory, carol, gm, gc } = setUp();
    fake.dropped = [];
    const served = row(gm, carol.keys.accountId);
    expect(revocableGrantee(served, verified)).toBeNull(); // the card offers no Revoke
    await expect(revoke(c, served)).rejects.toThrow(/Nothing was revoked/);
    expect(c.revocations).toEqual([]);
    expect(fake.dropped).toEqual([]);
    expect(c.accepts(gc)).toBe(true);
    expect(c.accepts(gm)).toBe(true);
    void mallory;
  });

  it("a consistent row revokes the account the signed grant names, and shows that key's safety code", async () => {
    const { c, mallory, carol, gm, gc } = setUp();
    fake.dropped = [];
    // The console may still map Mallory's id to Carol's e-mail: the row then shows Mallory's
    // safety code, which is not the one Carol reads from her account page.
    const served = row(gm, mallory.keys.accountId.toUpperCase());
    const grantee = revocableGrantee(served, verified);
    expect(grantee).toEqual({
      accountId: mallory.keys.accountId,
      safetyCode: safetyCode(mallory.identity.publicKey),
    });
    expect(grantee?.safetyCode).not.toBe(safetyCode(carol.identity.publicKey));
    await revoke(c, served);
    expect(c.revocations.map((r) => r.accountId)).toEqual([mallory.keys.accountId]);
    expect(fake.dropped).toEqual([mallory.keys.accountId]);
    expect(c.accepts(gm)).toBe(false);
    expect(c.accepts(gc)).toBe(true);
  });

  it("a row whose grant does not verify, or names another instance, revokes nothing", async () => {
    const { c, carol, gc } = setUp();
    fake.dropped = [];
    const body = gc.grant.body as Record<string, unknown>;
    const forged: TGrantBundle = { ...gc, grant: { ...gc.grant, body: { ...body, role: "admin" } } };
    const elsewhere = signGrant(
      signer.privateKey,
      signer.publicKey,
      crypto.randomUUID(),
      carol.keys,
      "viewer",
      Date.now() + day,
    );
    for (const bundle of [forged, elsewhere]) {
      const served = row(bundle, carol.keys.accountId);
      expect(revocableGrantee(served, verified)).toBeNull();
      await expect(revoke(c, served)).rejects.toThrow(/Nothing was revoked/);
    }
    expect(c.revocations).toEqual([]);
    expect(fake.dropped).toEqual([]);
    expect(c.accepts(gc)).toBe(true);
  });
});
