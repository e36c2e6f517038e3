import { randomUUID } from "node:crypto";
import { useNativePrimitives } from "@veil/crypto/node";
import { verifyGrantBundle } from "../src/grants/verify-grant";
import {
  GrantRevocations,
  MAX_REVOCATIONS_PER_SHARE,
  SIGNER_RESERVED_REVOCATIONS,
} from "../src/grants/grant-revocations";
import { describe, expect, it } from "vitest";
import {
  MAX_GRANT_LIFETIME_MS,
  MAX_GRANT_REVOCATIONS,
  type TGrantBundle,
  type TGrantRevocations,
} from "../src/protocol";
import { StateStore } from "../src/state/state-store";
import { useEnrolledSite } from "./harness/enrolled-site";
import { makeAccount, signDelegation, signGrant, type TestAccount } from "./harness/fixtures";
import { waitUntil, type BrowserSession } from "./harness/browser";

useNativePrimitives();

/**
 * Early revocation of one grant (`grants.revoke`): the companion itself refuses the revoked
 * grant from then on, whatever the console keeps serving, and closes the sessions that hold it.
 */
describe("grants.revoke: an admin ends one account's grant before it expires", () => {
  const site = useEnrolledSite("depot");
  const session = (account: TestAccount, bundle: TGrantBundle): BrowserSession => site.session(account, bundle);
  const grant = (account: TestAccount, role: "operator" | "admin", issuedAt: number): TGrantBundle =>
    signGrant({ signer: site.admin, account, instanceId: site.instance.instanceId, role, issuedAt });
  const adminSession = async (): Promise<BrowserSession> => {
    const b = session(site.admin, grant(site.admin, "admin", Date.now()));
    await b.open();
    return b;
  };

  it("closes the grant's sessions at once, refuses it from then on (after a restart too), and a newer grant works", async () => {
    const operator = makeAccount();
    const issuedAt = Date.now() - 60_000;
    const revoked = grant(operator, "operator", issuedAt);
    const held = session(operator, revoked);
    await held.open();
    expect(await held.request("ping")).toMatchObject({ kind: "result" });

    const a = await adminSession();
    const asked = Date.now();
    const answer = await a.request("grants.revoke", { accountId: operator.accountId, issuedAt });
    expect(answer).toMatchObject({ kind: "result", body: { closedSessions: 1 } });
    // Revoked up to the companion's clock at least, whatever earlier time the browser named.
    const revokedBefore = (answer as { body: { revokedBefore: number } }).body.revokedBefore;
    expect(revokedBefore).toBeGreaterThanOrEqual(asked);
    expect(revokedBefore).toBeLessThanOrEqual(Date.now());
    await waitUntil(() => held.closedReason === "grant_revoked", 5000, "the operator's session closed");

    // The console still holds the old grant and serves it again: refused by the companion.
    const again = session(operator, revoked);
    await expect(again.open()).rejects.toThrow(/grant_refused/);
    // A re-grant dated after the revocation (as the grant form dates it) works.
    const fresh = session(operator, grant(operator, "operator", revokedBefore + 1));
    await fresh.open();
    expect(await fresh.request("ping")).toMatchObject({ kind: "result" });
    expect(new StateStore(site.stateDir).loadRevocations()[operator.accountId]).toEqual({
      before: revokedBefore,
      by: "signer",
    });

    // The record only moves forward: revoking again reaches the companion's clock now.
    const second = await a.request("grants.revoke", { accountId: operator.accountId, issuedAt: issuedAt - 10_000 });
    const secondBefore = (second as { body: { revokedBefore: number } }).body.revokedBefore;
    expect(secondBefore).toBeGreaterThanOrEqual(revokedBefore);

    // Restart: the record is read back from the state folder.
    for (const b of [held, again, fresh, a]) b.dispose();
    await site.restart();
    const replayed = session(operator, revoked);
    await expect(replayed.open()).rejects.toThrow(/grant_refused/);
    const newer = session(operator, grant(operator, "operator", secondBefore + 1));
    await newer.open();
    for (const b of [replayed, newer]) b.dispose();
  });

  it("a revoking browser whose clock runs slow still revokes every grant issued until the companion's clock", async () => {
    const admin = makeAccount();
    const kept = grant(admin, "admin", Date.now() - 5 * 60_000);
    const held = session(admin, kept);
    await held.open();
    const a = await adminSession();
    // The revoking browser's clock is 10 minutes behind.
    expect(
      await a.request("grants.revoke", { accountId: admin.accountId, issuedAt: Date.now() - 10 * 60_000 }),
    ).toMatchObject({ kind: "result", body: { closedSessions: 1 } });
    await waitUntil(() => held.closedReason === "grant_revoked", 5000, "the demoted admin's session closed");
    await expect(session(admin, kept).open()).rejects.toThrow(/grant_refused/);
    for (const b of [held, a]) b.dispose();
  });

  it("an administrator revoking the signer's own account does not lock the signer out", async () => {
    const other = makeAccount();
    const o = session(other, grant(other, "admin", Date.now()));
    await o.open();
    const a = await adminSession();
    expect(
      await o.request("grants.revoke", { accountId: site.admin.accountId, issuedAt: Date.now() + 60_000 }),
    ).toMatchObject({ kind: "result", body: { closedSessions: 0 } });
    // The signer's session stays open, and a self-grant dated before that time still opens one.
    expect(await a.request("ping")).toMatchObject({ kind: "result" });
    const again = session(site.admin, grant(site.admin, "admin", Date.now()));
    await again.open();
    // The signer can still revoke that administrator.
    expect(await again.request("grants.revoke", { accountId: other.accountId, issuedAt: Date.now() })).toMatchObject({
      kind: "result",
      body: { closedSessions: 1 },
    });
    for (const b of [o, a, again]) b.dispose();
  });

  it("an administrator who fills the revocation table cannot stop the signer from revoking it", async () => {
    const rogue = makeAccount();
    // The table as a rogue administrator would leave it: full but for the signer's reserve.
    const filled = Object.fromEntries(
      Array.from({ length: MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS }, () => [randomUUID(), Date.now()]),
    );
    new StateStore(site.stateDir).saveRevocations(filled);
    await site.restart();
    const r = session(rogue, grant(rogue, "admin", Date.now()));
    const a = await adminSession();
    try {
      await r.open();
      expect(await r.request("grants.revoke", { accountId: randomUUID(), issuedAt: Date.now() })).toMatchObject({
        kind: "error",
        error: { code: "unavailable" },
      });
      // The signer's own account may use the reserve: the rogue's grant ends.
      expect(await a.request("grants.revoke", { accountId: rogue.accountId, issuedAt: Date.now() })).toMatchObject({
        kind: "result",
        body: { closedSessions: 1 },
      });
      await waitUntil(() => r.closedReason === "grant_revoked", 5000, "the rogue's session closed");
      expect(Object.keys(new StateStore(site.stateDir).loadRevocations())).toHaveLength(
        MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS + 1,
      );
    } finally {
      for (const b of [r, a]) b.dispose();
      // The next tests start from an empty table.
      new StateStore(site.stateDir).saveRevocations({});
      await site.restart();
    }
  });

  it("only the signer's own grant counts as the signer's, never one it signed for another key or a delegate's", () => {
    const signer = makeAccount();
    const admin = makeAccount();
    const instanceId = randomUUID();
    const check = (bundle: TGrantBundle) =>
      verifyGrantBundle(JSON.stringify(bundle), { instanceId, signer: signer.identity.publicKey, now: Date.now() });
    const own = signGrant({ signer, account: signer, instanceId, role: "admin" });
    expect(check(own).heldBySigner).toBe(true);
    expect(check(signGrant({ signer, account: admin, instanceId, role: "admin" })).heldBySigner).toBe(false);
    const delegation = signDelegation(signer, admin, instanceId);
    // A delegate signing for the signer's own key card is still not the signer.
    const viaDelegate = signGrant({ signer: admin, account: signer, instanceId, role: "admin", delegation });
    expect(check(viaDelegate)).toMatchObject({ via: "delegated", heldBySigner: false });
  });

  it("revoking a delegated admin ends the grants it signed under its delegation", async () => {
    const delegate = makeAccount();
    const member = makeAccount();
    const delegation = signDelegation(site.admin, delegate, site.instance.instanceId);
    const bundle = signGrant({
      signer: delegate,
      account: member,
      instanceId: site.instance.instanceId,
      role: "operator",
      delegation,
    });
    const held = session(member, bundle);
    await held.open();

    const a = await adminSession();
    const result = await a.request("grants.revoke", { accountId: delegate.accountId, issuedAt: Date.now() });
    expect(result).toMatchObject({ kind: "result", body: { closedSessions: 1 } });
    await waitUntil(() => held.closedReason === "grant_revoked", 5000, "the member's session closed");
    await expect(session(member, bundle).open()).rejects.toThrow(/grant_refused/);
    a.dispose();
    held.dispose();
  });

  it("a revoked delegated admin's old grant stays refused when paired with a newer delegation of the same key", () => {
    const signer = makeAccount();
    const delegate = makeAccount();
    const viewer = makeAccount();
    const instanceId = randomUUID();
    const now = Date.now();
    const before = now - 30_000; // the delegate was revoked then
    const check = (bundle: TGrantBundle) =>
      verifyGrantBundle(JSON.stringify(bundle), {
        instanceId,
        signer: signer.identity.publicKey,
        now,
        revokedBefore: (accountId) => (accountId === delegate.accountId ? before : undefined),
      });
    // A delegation issued now, after the revocation: valid in itself.
    const fresh = signDelegation(signer, delegate, instanceId);
    const old = signGrant({
      signer: delegate,
      account: viewer,
      instanceId,
      role: "viewer",
      issuedAt: now - 60_000,
      delegation: fresh,
    });
    expect(() => check(old)).toThrow(expect.objectContaining({ code: "revoked" }) as Error);
    // A grant the delegate signs after the revocation works under the new delegation.
    const renewed = signGrant({ signer: delegate, account: viewer, instanceId, role: "viewer", delegation: fresh });
    expect(check(renewed)).toMatchObject({ accountId: viewer.accountId, via: "delegated" });
  });

  it("an admin may revoke its own grant: the answer arrives before its session closes", async () => {
    const second = makeAccount();
    const issuedAt = Date.now() - 1000;
    const b = session(second, grant(second, "admin", issuedAt));
    await b.open();
    expect(await b.request("grants.revoke", { accountId: second.accountId, issuedAt })).toMatchObject({
      kind: "result",
      body: { closedSessions: 1 },
    });
    await waitUntil(() => b.closedReason === "grant_revoked", 5000, "own session closed after the answer");
    b.dispose();
  });

  it("only admins may revoke, and the request is checked like any other", async () => {
    const operator = makeAccount();
    const b = session(operator, grant(operator, "operator", Date.now()));
    await b.open();
    expect(await b.request("grants.revoke", { accountId: site.admin.accountId, issuedAt: Date.now() })).toMatchObject({
      kind: "error",
      error: { code: "forbidden" },
    });
    const a = await adminSession();
    expect(await a.request("grants.revoke", { accountId: "not an id", issuedAt: Date.now() })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
    // Not into the future: that would refuse every later re-grant of the account too.
    expect(
      await a.request("grants.revoke", { accountId: site.admin.accountId, issuedAt: Date.now() + 3600_000 }),
    ).toMatchObject({ kind: "error", error: { code: "bad_request" } });
    expect(new StateStore(site.stateDir).loadRevocations()[site.admin.accountId]).toBeUndefined();
    b.dispose();
    a.dispose();
  });

  it("forgets revocations nothing can reach any more when the record is full, and only those", () => {
    const now = Date.now();
    const saved: TGrantRevocations[] = [];
    const record = (entries: TGrantRevocations) =>
      new GrantRevocations({ loadRevocations: () => entries, saveRevocations: (r) => void saved.push(r) });
    const fill = (t: number) =>
      Object.fromEntries(
        Array.from({ length: MAX_GRANT_REVOCATIONS - SIGNER_RESERVED_REVOCATIONS }, () => [randomUUID(), t]),
      );
    // Old enough that every grant and delegation they reach has expired: forgotten to make room.
    const stale = record(fill(now - MAX_GRANT_LIFETIME_MS - 1));
    const fresh = randomUUID();
    expect(stale.revoke(fresh, now, { share: randomUUID(), now })).toBe(now);
    expect(Object.keys(saved.at(-1) ?? {})).toEqual([fresh]);
    // Still within reach of a grant: kept, and a new account is refused.
    const live = record(fill(now - MAX_GRANT_LIFETIME_MS + 60_000));
    expect(() => live.revoke(randomUUID(), now, { share: randomUUID(), now })).toThrow(
      expect.objectContaining({ code: "unavailable" }) as Error,
    );
    expect(live.revoke(randomUUID(), now, { share: "signer", now })).toBe(now);
  });

  it("a grant or delegation lasting more than 400 days is refused", () => {
    const signer = makeAccount();
    const member = makeAccount();
    const instanceId = randomUUID();
    const now = Date.now();
    const check = (bundle: TGrantBundle) =>
      verifyGrantBundle(JSON.stringify(bundle), { instanceId, signer: signer.identity.publicKey, now });
    const long = now + MAX_GRANT_LIFETIME_MS + 60_000;
    expect(() => check(signGrant({ signer, account: member, instanceId, role: "viewer", expiresAt: long }))).toThrow(
      expect.objectContaining({ code: "malformed" }) as Error,
    );
    const delegation = signDelegation(signer, member, instanceId, long);
    const underIt = signGrant({ signer: member, account: makeAccount(), instanceId, role: "viewer", delegation });
    expect(() => check(underIt)).toThrow(expect.objectContaining({ code: "delegation_invalid" }) as Error);
  });

  it("one administrator's share holds 1,000 new entries; other administrators and the signer keep their room", () => {
    const now = Date.now();
    const d = randomUUID();
    const entries: TGrantRevocations = Object.fromEntries(
      Array.from({ length: MAX_REVOCATIONS_PER_SHARE }, () => [randomUUID(), { before: now, by: d }]),
    );
    const known = Object.keys(entries)[0] ?? "";
    const record = new GrantRevocations({ loadRevocations: () => entries, saveRevocations: () => undefined });
    expect(() => record.revoke(randomUUID(), now, { share: d, now })).toThrow(
      expect.objectContaining({ code: "unavailable" }) as Error,
    );
    // Moving one of its own entries forward takes no new place.
    expect(record.revoke(known, now + 1, { share: d, now })).toBe(now + 1);
    expect(record.revoke(randomUUID(), now, { share: randomUUID(), now })).toBe(now);
    expect(record.revoke(randomUUID(), now, { share: "signer", now })).toBe(now);
  });

  it("administrators granted under a delegation count against the delegated administrator's share", async () => {
    const delegate = makeAccount();
    const minion = makeAccount();
    const other = makeAccount();
    const delegation = signDelegation(site.admin, delegate, site.instance.instanceId);
    const minionGrant = signGrant({
      signer: delegate,
      account: minion,
      instanceId: site.instance.instanceId,
      role: "admin",
      delegation,
    });
    const now = Date.now();
    new StateStore(site.stateDir).saveRevocations(
      Object.fromEntries(
        Array.from({ length: MAX_REVOCATIONS_PER_SHARE }, () => [
          randomUUID(),
          { before: now, by: delegate.accountId },
        ]),
      ),
    );
    await site.restart();
    const m = session(minion, minionGrant);
    const o = session(other, grant(other, "admin", Date.now()));
    try {
      await m.open();
      await o.open();
      expect(await m.request("grants.revoke", { accountId: randomUUID(), issuedAt: Date.now() })).toMatchObject({
        kind: "error",
        error: { code: "unavailable" },
      });
      expect(await o.request("grants.revoke", { accountId: randomUUID(), issuedAt: Date.now() })).toMatchObject({
        kind: "result",
      });
      const saved = Object.values(new StateStore(site.stateDir).loadRevocations());
      expect(saved.filter((r) => typeof r === "object" && r.by === other.accountId)).toHaveLength(1);
    } finally {
      for (const b of [m, o]) b.dispose();
      new StateStore(site.stateDir).saveRevocations({});
      await site.restart();
    }
  });
});
