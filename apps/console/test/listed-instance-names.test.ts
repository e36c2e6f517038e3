// Names the instances page shows. The console's answers are unsigned: the install panel shown
// after "Add an instance" is titled with the name this browser signed into the certificate, not
// the name the console's create response carries; and a listed instance whose certificate
// verifies under a signer this account never confirmed (a console can sign a certificate of its
// own for a member) is marked "unconfirmed signer", not shown like a confirmed one.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { generateBoxKeyPair, generateIdentityKeyPair, randomBytes, signStatement, toBase64Url } from "@veil/crypto";
import { INSTANCE_CERTIFICATE_DOMAIN, type TInstanceSummary, type TMeResponse } from "@veil/protocol";

const CONSOLE = "https://console.test:8443";
vi.mock("../src/client/instances/endpoints", () => ({
  companionInfo: () => Promise.resolve({ consoleUrl: CONSOLE, consolePin: `sha256//${"A".repeat(43)}=` }),
  createInstance: (body: { instanceId: string }) =>
    // The console answers with a name of its choosing.
    Promise.resolve({ instance: { id: body.instanceId, name: "Payroll (trusted)" } }),
  createGrant: () => Promise.resolve({ grant: {} }),
}));
vi.mock("../src/client/derive-keys", () => ({
  deriveInWorker: () => Promise.resolve({ authKey: randomBytes(32), wrapKey: randomBytes(32) }),
}));
vi.mock("../src/client/session-store", () => ({ getState: () => ({ status: "anonymous", notice: null }) }));
const store = new Map<string, string>();
vi.stubGlobal("localStorage", {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
});
vi.stubGlobal("window", { location: { origin: CONSOLE } });

const { createAccountKeys } = await import("../src/client/account-keys");
const { addInstance } = await import("../src/client/instances/add-instance");
const { listedTrust } = await import("../src/client/instances/served-instance");
const { pinSigner, verifyInstance } = await import("../src/client/instances/trust");

const memberId = crypto.randomUUID();
const { keys: member, wire } = createAccountKeys(memberId, new Uint8Array(32).fill(3) as never);
const owner = { accountId: memberId, identityPublicKey: member.identity.publicKey };

/** An instance as the console lists it, its certificate signed by `signer`. */
function listed(signer: ReturnType<typeof generateIdentityKeyPair>, id: string = crypto.randomUUID()) {
  const identity = toBase64Url(generateIdentityKeyPair().publicKey);
  const box = toBase64Url(generateBoxKeyPair().publicKey);
  const body = { instanceId: id, name: "HQ", identityPublicKey: identity, boxPublicKey: box, issuedAt: Date.now() };
  return {
    id,
    name: "HQ",
    adminUserId: null,
    identityPublicKey: identity,
    boxPublicKey: box,
    certificate: {
      statement: signStatement(INSTANCE_CERTIFICATE_DOMAIN, body, signer.privateKey),
      signerPublicKey: toBase64Url(signer.publicKey),
    },
    createdAt: new Date().toISOString(),
    enrolledAt: null,
    rotatedAt: null,
    revokedAt: null,
    presence: { online: true, lastSeenAt: null, companionVersion: null, address: null },
    myRole: "viewer",
  } as unknown as TInstanceSummary;
}

beforeEach(() => store.clear());

describe("names on the instances page", () => {
  it("the install panel's name is the one signed, whatever the console answers", async () => {
    const me = { user: { id: memberId, role: "admin" }, keys: wire } as TMeResponse;
    const added = await addInstance("  Warehouse  ", me, member, () => undefined);
    expect(added.instance.name).toBe("Payroll (trusted)");
    expect(added.certifiedName).toBe("Warehouse");
  });

  it("a certificate the console signed is listed as 'unconfirmed' until this account confirms its signer", () => {
    const consoleKey = generateIdentityKeyPair();
    const instance = listed(consoleKey);
    expect(listedTrust(instance, member, owner)).toBe("unconfirmed");
    pinSigner(instance.id, verifyInstance(instance), owner);
    expect(listedTrust(instance, member, owner)).toBe("confirmed");
    // Another account of the profile has not confirmed it.
    const other = { accountId: crypto.randomUUID(), identityPublicKey: generateIdentityKeyPair().publicKey };
    expect(listedTrust(instance, member, other)).toBe("unconfirmed");
  });

  it("own, changed and unverifiable certificates are told apart", () => {
    expect(listedTrust(listed(member.identity), member, owner)).toBe("yours");
    const first = listed(generateIdentityKeyPair());
    pinSigner(first.id, verifyInstance(first), owner);
    // The console re-signs the same instance with a key of its own.
    const forged = listed(generateIdentityKeyPair(), first.id);
    expect(listedTrust(forged, member, owner)).toBe("changed");
    expect(listedTrust({ ...first, boxPublicKey: forged.boxPublicKey }, member, owner)).toBe("unverified");
  });
});
