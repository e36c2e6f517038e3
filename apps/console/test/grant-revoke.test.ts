// Revoking a grant from the grants card (client/instances/revoke-grant.ts). The companion refuses
// every grant of the account issued at or before the time the revocation names (and every grant
// signed under that account's delegation issued by then). The console chooses what it lists: an
// administrator who granted X twice sees only the first grant, and a revocation that reaches
// back only to that grant's issue time leaves the second one working while the page says the
// grant is revoked. The fake admin channel below records the revocation as the companion does
// (grant-revocations.ts, the grants.revoke handler's skew check) and grants are checked with the
// companion's own verifyGrantBundle (apps/companion/src/grants/verify-grant.ts).
import { describe, expect, it, vi } from "vitest";
import { certifyBoxKey, generateBoxKeyPair, generateIdentityKeyPair, toBase64Url } from "@veil/crypto";
import type { TGrantBundle, TGrantRevokeBody, TGrantSummary } from "@veil/protocol";
import { GRANT_CLOCK_SKEW_MS, GrantError, verifyGrantBundle } from "../../companion/src/grants/verify-grant";

const fake = vi.hoisted(() => ({ dropped: [] as { instanceId: string; accountId: string }[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  revokeGrant: (instanceId: string, body: { accountId: string }) => {
    fake.dropped.push({ instanceId, accountId: body.accountId });
    return Promise.resolve({ ok: true });
  },
}));

const { revokeGrant } = await import("../src/client/instances/revoke-grant");
const { signDelegation, signGrant } = await import("../src/client/instances/trust");
type AccountPublicKeys = Parameters<typeof signGrant>[3];

/** A companion's revocation record and its rule, reached through a fake admin channel. */
function companion() {
  const before = new Map<string, number>();
  const channel = {
    request: (type: string, body: TGrantRevokeBody) => {
      expect(type).toBe("grants.revoke");
      if (body.issuedAt > Date.now() + GRANT_CLOCK_SKEW_MS) return Promise.reject(new Error("bad_request"));
      const next = Math.max(before.get(body.accountId) ?? 0, body.issuedAt);
      before.set(body.accountId, next);
      return Promise.resolve({ revokedBefore: next, closedSessions: 0 });
    },
  };
  /** Whether the companion's own grant check (verifyGrantBundle) accepts `bundle` now. */
  const accepts = (bundle: TGrantBundle): boolean => {
    try {
      verifyGrantBundle(JSON.stringify(bundle), {
        instanceId,
        signer: signer.publicKey,
        now: Date.now(),
        revokedBefore: (accountId) => before.get(accountId),
      });
      return true;
    } catch (error) {
      if (error instanceof GrantError && error.code === "revoked") return false;
      throw error;
    }
  };
  return { channel: channel as never, accepts };
}

function account(): { keys: AccountPublicKeys; identity: ReturnType<typeof generateIdentityKeyPair> } {
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

const signer = generateIdentityKeyPair();
const instanceId = crypto.randomUUID();

/** A listing row for `bundle`, as the console serves it. */
const listed = (bundle: TGrantBundle, accountId: string): TGrantSummary => ({
  id: crypto.randomUUID(),
  instanceId,
  accountId,
  role: "operator",
  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  createdAt: new Date().toISOString(),
  createdBy: null,
  bundle,
  delegation: null,
});

const revoke = (c: ReturnType<typeof companion>, grant: TGrantSummary) =>
  revokeGrant(c.channel, { grant, instanceId, withStepUp: (call) => call(), phase: () => undefined });

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

  it("a later re-grant still works, and the time stays within what the companion accepts", async () => {
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
    await revoke(c, listed(g, x.keys.accountId));
    await new Promise((r) => setTimeout(r, 5));
    const again = signGrant(signer.privateKey, signer.publicKey, instanceId, x.keys, "viewer", Date.now() + 1000);
    expect(c.accepts(again)).toBe(true);
  });
});
