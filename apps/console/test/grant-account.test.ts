// Signing a grant from the grants card (client/instances/grant-account.ts). The companion honours
// every grant of an account until it expires or is revoked, and the console chooses which one it
// lists: "changing" an administrator to a viewer must not leave the admin grant, or its delegation
// to sign more grants, working. The fake admin channel and the grant checks are the companion's
// rules (helpers/grant-companion.ts).
import { describe, expect, it, vi } from "vitest";
import { generateIdentityKeyPair, type SignedStatement } from "@veil/crypto";
import type { TGrantCreateRequest } from "@veil/protocol";
import { grantCompanion, testAccount } from "./helpers/grant-companion";

const fake = vi.hoisted(() => ({ created: [] as TGrantCreateRequest[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  createGrant: (_instanceId: string, body: TGrantCreateRequest) => {
    fake.created.push(body);
    return Promise.resolve({ grant: {} });
  },
}));

const { grantAccount } = await import("../src/client/instances/grant-account");
const { signGrant } = await import("../src/client/instances/trust");

const signer = generateIdentityKeyPair();
const instanceId = crypto.randomUUID();

type Options = { role: "viewer" | "operator" | "admin"; delegate?: boolean; channel: boolean; own?: string };

/** Grants `account` through the form's flow; the bundle (and delegation) the console was sent. */
async function grant(c: ReturnType<typeof grantCompanion>, account: ReturnType<typeof testAccount>, o: Options) {
  await grantAccount({
    signer,
    instanceId,
    account: account.keys,
    ownAccountId: o.own ?? crypto.randomUUID(),
    role: o.role,
    days: 30,
    delegate: o.delegate ?? false,
    adminChannel: o.channel ? c.channel : null,
    withStepUp: (call) => call(),
    phase: () => undefined,
  });
  // The companion's clock moves on before the grantee connects.
  await new Promise((r) => setTimeout(r, 5));
  const created = fake.created.at(-1);
  if (!created) throw new Error("nothing was stored");
  return created;
}

describe("granting an account revokes its earlier grants on the companion first", () => {
  it("an admin changed to a viewer keeps neither the admin grant nor its delegation", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const member = testAccount();
    const admin = await grant(c, x, { role: "admin", delegate: true, channel: true });
    expect(admin.delegation).toBeDefined();
    // What the admin could do with what it kept: open sessions, and sign grants under the delegation.
    const underDelegation = signGrant(
      x.identity.privateKey,
      x.identity.publicKey,
      instanceId,
      member.keys,
      "admin",
      Date.now() + 86_400_000,
      Date.now(),
      admin.delegation as SignedStatement,
    );
    expect(c.accepts(admin.bundle) && c.accepts(underDelegation)).toBe(true);

    const viewer = await grant(c, x, { role: "viewer", channel: true });
    expect(c.revocations.at(-1)?.accountId).toBe(x.keys.accountId.toLowerCase());
    expect(c.accepts(admin.bundle)).toBe(false);
    expect(c.accepts(underDelegation)).toBe(false);
    expect(c.accepts(viewer.bundle)).toBe(true);
  });

  it("an operator changed to a viewer keeps no operator grant, whatever grant the console listed", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const first = await grant(c, x, { role: "operator", channel: false });
    const second = await grant(c, x, { role: "operator", channel: false });
    const viewer = await grant(c, x, { role: "viewer", channel: true });
    expect([first, second].map((g) => c.accepts(g.bundle))).toEqual([false, false]);
    expect(c.accepts(viewer.bundle)).toBe(true);
  });

  it("an admin grant with a delegation revokes nothing: the grants that admin signed keep working", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const member = testAccount();
    const before = await grant(c, x, { role: "admin", delegate: true, channel: true });
    const signed = signGrant(
      x.identity.privateKey,
      x.identity.publicKey,
      instanceId,
      member.keys,
      "viewer",
      Date.now() + 86_400_000,
      Date.now(),
      before.delegation as SignedStatement,
    );
    const renewed = await grant(c, x, { role: "admin", delegate: true, channel: true });
    expect(c.revocations).toEqual([]);
    expect(c.accepts(signed) && c.accepts(renewed.bundle)).toBe(true);
  });

  it("without an administrator session nothing is revoked and the grant is dated now", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const startedAt = Date.now();
    const g = await grant(c, x, { role: "viewer", channel: false });
    expect(c.revocations).toEqual([]);
    const body = (g.bundle.grant as { body: { issuedAt: number } }).body;
    expect(body.issuedAt).toBeGreaterThanOrEqual(startedAt);
    expect(body.issuedAt).toBeLessThanOrEqual(Date.now());
    expect(c.accepts(g.bundle)).toBe(true);
  });

  it("an account lowered and then made an admin with a delegation again gets a working grant and delegation", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const member = testAccount();
    await grant(c, x, { role: "admin", delegate: true, channel: true });
    await grant(c, x, { role: "viewer", channel: true });
    const again = await grant(c, x, { role: "admin", delegate: true, channel: true });
    const underIt = signGrant(
      x.identity.privateKey,
      x.identity.publicKey,
      instanceId,
      member.keys,
      "viewer",
      Date.now() + 86_400_000,
      Date.now(),
      again.delegation as SignedStatement,
    );
    expect(c.accepts(again.bundle) && c.accepts(underIt)).toBe(true);
  });

  it("refuses to grant the browser's own account: that would revoke its delegation and every grant it signed", async () => {
    const c = grantCompanion(instanceId, signer.publicKey);
    const x = testAccount();
    const stored = fake.created.length;
    await expect(grant(c, x, { role: "admin", channel: true, own: x.keys.accountId.toUpperCase() })).rejects.toThrow(
      /your own key card/,
    );
    expect(c.revocations).toEqual([]);
    expect(fake.created).toHaveLength(stored);
  });
});
