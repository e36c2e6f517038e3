// Revoking a grant from the grants card (client/instances/revoke-grant.ts). The companion refuses
// every grant of the account issued at or before the time the revocation names (and every grant
// signed under that account's delegation issued by then). The console chooses what it lists: an
// administrator who granted X twice sees only the first grant, and a revocation that reaches
// back only to that grant's issue time leaves the second one working while the page says the
// grant is revoked. The fake admin channel records the revocation as the companion does and
// grants are checked with the companion's own verifyGrantBundle (helpers/grant-companion.ts).
import { describe, expect, it, vi } from "vitest";
import { generateIdentityKeyPair } from "@veil/crypto";
import type { TGrantBundle, TGrantSummary } from "@veil/protocol";
import { grantRow, verifiedInstance } from "./helpers/verified-instance";
import { grantCompanion, testAccount as account, type GrantCompanion } from "./helpers/grant-companion";

const fake = vi.hoisted(() => ({ dropped: [] as { instanceId: string; accountId: string }[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  revokeGrant: (instanceId: string, body: { accountId: string }) => {
    fake.dropped.push({ instanceId, accountId: body.accountId });
    return Promise.resolve({ ok: true });
  },
}));

const { revokeGrant } = await import("../src/client/instances/revoke-grant");
const { signDelegation, signGrant } = await import("../src/client/instances/trust");

const signer = generateIdentityKeyPair();
const instanceId = crypto.randomUUID();
const verified = verifiedInstance(instanceId, signer);

/** A listing row for `bundle`, as the console serves it. */
const listed = (bundle: TGrantBundle, accountId: string): TGrantSummary => grantRow(instanceId, bundle, accountId);

const companion = () => grantCompanion(instanceId, signer.publicKey);

const revoke = (c: GrantCompanion, grant: TGrantSummary) =>
  revokeGrant(c.channel, { grant, verified, withStepUp: (call) => call(), phase: () => undefined });

describe("revoking a grant reaches every grant issued until now, whatever the console lists", () => {
  it("the admin granted X twice; the console lists only the first: the second is refused too", async () => {
    const c = companion();
    const x = account();
    const day = 86_400_000;
    const t1 = Date.now() - 2 * day;
    const t2 = Date.now() - day;
    const g1 = signGrant(signer.privateKey, signer.publicKey, instanceId, x.keys, "operator", t2 + 30 * day, t1);
    const g2 = signGrant(signer.privateKey, signer.publicKey, instanceId, x.keys, "admin", t2 + 30 * day, t2);
    expect(c.accepts(g1) && c.accepts(g2)).toBe(true);

    const startedAt = Date.now();
    const result = await revoke(c, listed(g1, x.keys.accountId));
    expect(result.revokedBefore).toBeGreaterThanOrEqual(startedAt);
    expect(c.accepts(g1)).toBe(false);
    expect(c.accepts(g2)).toBe(false);
    // Then the console's row goes, for the instance the page certified.
    expect(fake.dropped.at(-1)).toEqual({ instanceId, accountId: x.keys.accountId });
  });

  it("a delegated admin's newer grants are refused too, whatever delegation the console lists", async () => {
    const c = companion();
    const delegated = account();
    const member = account();
    const day = 86_400_000;
    const old = Date.now() - 3 * day;
    const oldDelegation = signDelegation(signer.privateKey, instanceId, delegated.keys, old + 30 * day, old);
    const g = signGrant(signer.privateKey, signer.publicKey, instanceId, delegated.keys, "admin", old + 30 * day, old);
    // Later: a newer delegation, and a grant the delegated admin signed under it.
    const newer = Date.now() - day;
    const newDelegation = signDelegation(signer.privateKey, instanceId, delegated.keys, newer + 30 * day, newer);
    const underIt = signGrant(
      delegated.identity.privateKey,
      delegated.identity.publicKey,
      instanceId,
      member.keys,
      "viewer",
      newer + 30 * day,
      newer,
      newDelegation,
    );
    expect(c.accepts(underIt)).toBe(true);
    await revoke(c, { ...listed(g, delegated.keys.accountId), delegation: oldDelegation });
    expect(c.accepts(underIt)).toBe(false);
  });

  it("a re-grant dated after the revocation works, and the time stays within what the companion accepts", async () => {
    const c = companion();
    const x = account();
    const g = signGrant(
      signer.privateKey,
      signer.publicKey,
      instanceId,
      x.keys,
      "viewer",
      Date.now() + 1000,
      Date.now(),
    );
    const { revokedBefore } = await revoke(c, listed(g, x.keys.accountId));
    const again = signGrant(
      signer.privateKey,
      signer.publicKey,
      instanceId,
      x.keys,
      "viewer",
      Date.now() + 1000,
      Math.max(Date.now(), revokedBefore + 1),
    );
    expect(c.accepts(again)).toBe(true);
  });
});
