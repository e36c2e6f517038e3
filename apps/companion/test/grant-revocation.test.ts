import { randomUUID } from "node:crypto";
import { useNativePrimitives } from "@veil/crypto/node";
import { verifyGrantBundle } from "../src/grants/verify-grant";
import { describe, expect, it } from "vitest";
import type { TGrantBundle } from "../src/protocol";
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
    expect(await a.request("grants.revoke", { accountId: operator.accountId, issuedAt })).toMatchObject({
      kind: "result",
      body: { revokedBefore: issuedAt, closedSessions: 1 },
    });
    await waitUntil(() => held.closedReason === "grant_revoked", 5000, "the operator's session closed");

    // The console still holds the old grant and serves it again: refused by the companion.
    const again = session(operator, revoked);
    await expect(again.open()).rejects.toThrow(/grant_refused/);
    // A re-grant issued after the revoked one works.
    const fresh = session(operator, grant(operator, "operator", issuedAt + 1));
    await fresh.open();
    expect(await fresh.request("ping")).toMatchObject({ kind: "result" });
    expect(new StateStore(site.stateDir).loadRevocations()[operator.accountId]).toBe(issuedAt);

    // Revoking an older time than the one recorded changes nothing: the record only moves forward.
    expect(
      await a.request("grants.revoke", { accountId: operator.accountId, issuedAt: issuedAt - 10_000 }),
    ).toMatchObject({ kind: "result", body: { revokedBefore: issuedAt, closedSessions: 0 } });

    // Restart: the record is read back from the state folder.
    for (const b of [held, again, fresh, a]) b.dispose();
    await site.restart();
    const replayed = session(operator, revoked);
    await expect(replayed.open()).rejects.toThrow(/grant_refused/);
    const newer = session(operator, grant(operator, "operator", issuedAt + 2));
    await newer.open();
    for (const b of [replayed, newer]) b.dispose();
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
});
