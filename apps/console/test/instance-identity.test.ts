// The instance page polls GET /api/instances/:id every 5 s. A console that serves instance A's
// page correctly once, then `{ ...A, id: B }` with A's certificate, would have grants,
// delegations and revocations signed for B while the header still shows A. Each poll must be
// the page's instance, anything the verification read is verified again when it changes, and
// the id signed for and the name shown come from the verified certificate.
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateBoxKeyPair, generateIdentityKeyPair, signStatement, toBase64Url } from "@veil/crypto";
import { INSTANCE_CERTIFICATE_DOMAIN, type TInstanceSummary, type TMeResponse } from "@veil/protocol";

const fake = vi.hoisted(() => ({ listed: [] as string[] }));
vi.mock("../src/client/instances/endpoints", () => ({
  listGrants: (id: string) => {
    fake.listed.push(id);
    return Promise.resolve({ grants: [] });
  },
}));

const { createAccountKeys } = await import("../src/client/account-keys");
const { checkServedInstance, shownName, verificationKey, verifyListed } =
  await import("../src/client/instances/served-instance");
const { bundleSource } = await import("../src/client/instances/grant-bundle-source");
const { grantBody, InstanceTrustError, verifyInstance } = await import("../src/client/instances/trust");
type Ready = Parameters<typeof bundleSource>[0];
type VerifiedInstance = Parameters<typeof bundleSource>[1];

afterEach(() => {
  fake.listed = [];
});

const adminId = crypto.randomUUID();
const { keys: admin, wire } = createAccountKeys(adminId, new Uint8Array(32).fill(7) as never);

/** An instance certified by the admin, as the console lists it. */
function certified(name: string): TInstanceSummary {
  const id = crypto.randomUUID();
  const identity = toBase64Url(generateIdentityKeyPair().publicKey);
  const box = toBase64Url(generateBoxKeyPair().publicKey);
  const statement = signStatement(
    INSTANCE_CERTIFICATE_DOMAIN,
    { instanceId: id, name, identityPublicKey: identity, boxPublicKey: box, issuedAt: Date.now() },
    admin.identity.privateKey,
  );
  return {
    id,
    name,
    adminUserId: adminId,
    identityPublicKey: identity,
    boxPublicKey: box,
    certificate: { statement, signerPublicKey: toBase64Url(admin.identity.publicKey) },
    createdAt: new Date().toISOString(),
    enrolledAt: null,
    rotatedAt: null,
    revokedAt: null,
    presence: { online: true, lastSeenAt: null, companionVersion: null, address: null },
    myRole: "admin",
  };
}

/** The admin's signed-in session (only the fields the grant code reads). */
const session = (): Ready => ({
  status: "ready",
  me: { user: { id: adminId, role: "admin" }, keys: wire } as TMeResponse,
  keys: admin,
  safetyCode: "",
});

/**
 * The instance page's chain (useInstanceSummary → useInstanceVerification → what the page signs)
 * without React: every poll goes through checkServedInstance, the verification is cached on
 * verificationKey as the hook's useMemo is, and grants come from bundleSource.
 */
function instancePage(routeId: string) {
  let instance: TInstanceSummary | null = null;
  let loadError: string | null = null;
  let cache: { key: string; verified: VerifiedInstance | null } | null = null;
  const verified = (): VerifiedInstance | null => {
    if (!instance) return null;
    const key = verificationKey(instance);
    if (cache?.key !== key) {
      let v: VerifiedInstance | null;
      try {
        v = verifyInstance(instance);
      } catch {
        v = null;
      }
      cache = { key, verified: v };
    }
    return cache.verified;
  };
  return {
    poll(served: TInstanceSummary) {
      try {
        instance = checkServedInstance(routeId, served);
        loadError = null;
      } catch (error) {
        instance = null;
        loadError = (error as Error).message;
      }
    },
    get loadError() {
      return loadError;
    },
    header(): string | null {
      const v = verified();
      return instance ? shownName(instance, v ? { ok: v } : { error: "not verified" }).name : null;
    },
    /** The instance id this page's own grant is signed for, or null when it signs none. */
    async signsFor(): Promise<string | null> {
      const v = verified();
      if (!v) return null;
      const bundle = await bundleSource(session(), v)();
      return grantBody(bundle)?.body.instanceId ?? null;
    },
  };
}

describe("the instance page takes its id and name from the verified certificate", () => {
  it("serves A, then { ...A, id: B } with A's certificate: refused, nothing is signed for B", async () => {
    const a = certified("site A");
    const b = certified("site B");
    const page = instancePage(a.id);
    page.poll(a);
    expect(page.header()).toBe("site A");
    expect(await page.signsFor()).toBe(a.id);

    page.poll({ ...a, id: b.id });
    expect(page.loadError).toMatch(/another instance/);
    expect(page.header()).toBeNull();
    expect(await page.signsFor()).toBeNull();
  });

  it("the page of B, served with A's certificate under B's id: the certificate is verified again and refused", async () => {
    const a = certified("site A");
    const b = certified("site B");
    const page = instancePage(b.id);
    page.poll(b);
    expect(await page.signsFor()).toBe(b.id);
    page.poll({
      ...b,
      certificate: a.certificate,
      identityPublicKey: a.identityPublicKey,
      boxPublicKey: a.boxPublicKey,
    });
    expect(await page.signsFor()).toBeNull();
  });

  it("a summary is refused unless it names the page's id", () => {
    const a = certified("site");
    expect(checkServedInstance(a.id, a)).toBe(a);
    expect(checkServedInstance(a.id.toUpperCase(), a)).toBe(a);
    expect(() => checkServedInstance(crypto.randomUUID(), a)).toThrow(InstanceTrustError);
  });

  it("the verification is cached on everything it reads: id, named admin, keys and certificate", () => {
    const a = certified("site");
    const other = certified("other");
    const key = verificationKey(a);
    expect(verificationKey({ ...a, presence: { ...a.presence, online: false } })).toBe(key);
    expect(verificationKey({ ...a, id: other.id })).not.toBe(key);
    expect(verificationKey({ ...a, adminUserId: crypto.randomUUID() })).not.toBe(key);
    expect(verificationKey({ ...a, adminUserId: null })).not.toBe(key);
    expect(verificationKey({ ...a, boxPublicKey: other.boxPublicKey })).not.toBe(key);
    expect(verificationKey({ ...a, identityPublicKey: other.identityPublicKey })).not.toBe(key);
    expect(verificationKey({ ...a, certificate: other.certificate })).not.toBe(key);
  });

  it("the header and the list show the certified name, not the console's copy", () => {
    const a = certified("site A");
    const renamed = { ...a, name: "Bank of the console" };
    expect(shownName(renamed, { ok: verifyInstance(a) })).toEqual({ name: "site A", certified: true });
    expect(shownName(renamed, { error: "x" })).toEqual({ name: "Bank of the console", certified: false });
    expect(verifyListed(renamed)?.body.name).toBe("site A");
    expect(verifyListed({ ...renamed, id: crypto.randomUUID() })).toBeNull();
  });

  it("a member's stored grant is looked up for the certified id", async () => {
    const a = certified("site");
    const verified = verifyInstance(a);
    const member: Ready = { ...session(), keys: createAccountKeys(adminId, new Uint8Array(32) as never).keys };
    await expect(bundleSource(member, verified)()).rejects.toThrow(/no grant/);
    expect(fake.listed).toEqual([a.id]);
  });
});
