// A console that swaps the account's public keys after sign-in. GET /api/me is read again after
// an idle-timeout change, 2FA on or off, a password change (refreshMe); a console that then
// serves an identity key, a box key and a box-key certificate of its own (the certificate signed
// by its own identity key, naming the admin's account id) would have the admin's browser sign an
// admin grant for the console's keys with the admin's real identity key, the pinned signer.
// The session store, the self-grant (bundleSource), "Add an instance" and the key card run here
// for real in Node; only the console's answers, the Argon2id worker and IndexedDB are stand-ins.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  boxKeyPairFromPrivateKey,
  certifyBoxKey,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  identityKeyPairFromPrivateKey,
  randomBytes,
  signStatement,
  toBase64Url,
  type WrapKey,
} from "@veil/crypto";
import {
  INSTANCE_CERTIFICATE_DOMAIN,
  type TGrantBundle,
  type TGrantCreateRequest,
  type TInstanceSummary,
  type TMeResponse,
} from "@veil/protocol";

const fake = vi.hoisted(() => ({
  me: [] as unknown[],
  logouts: 0,
  grants: [] as { instanceId: string; body: unknown }[],
  instancesMade: 0,
}));

vi.mock("../src/client/endpoints", () => ({
  getMe: () => Promise.resolve(fake.me.shift()),
  logout: () => {
    fake.logouts++;
    return Promise.resolve({ ok: true });
  },
}));
vi.mock("../src/client/live-socket", () => ({
  connectLiveSocket: () => Promise.resolve(),
  disconnectLiveSocket: () => undefined,
}));
vi.mock("../src/client/tab-vault", () => ({
  sealForTab: () => Promise.reject(new Error("no IndexedDB here")),
  openForTab: () => Promise.resolve(null),
  forgetTab: () => Promise.resolve(),
}));
vi.mock("../src/client/derive-keys", () => ({
  deriveInWorker: () => Promise.resolve({ authKey: randomBytes(32), wrapKey: randomBytes(32) }),
}));
vi.mock("../src/client/instances/endpoints", () => ({
  companionInfo: () =>
    Promise.resolve({
      consoleUrl: "https://console.test",
      consolePin: `sha256//${Buffer.from(randomBytes(32)).toString("base64")}`,
      installScriptPath: "/install.sh",
    }),
  createInstance: (body: { instanceId: string; name: string }) => {
    fake.instancesMade++;
    return Promise.resolve({ instance: { id: body.instanceId, name: body.name } });
  },
  createGrant: (instanceId: string, body: TGrantCreateRequest) => {
    fake.grants.push({ instanceId, body });
    return Promise.resolve({ grant: {} });
  },
  listGrants: () => Promise.resolve({ grants: [] }),
}));

const { createAccountKeys, encodeCertificate, KeyIntegrityError } = await import("../src/client/account-keys");
const store = await import("../src/client/session-store");
const { bundleSource } = await import("../src/client/instances/grant-bundle-source");
const { addInstance } = await import("../src/client/instances/add-instance");
const { decodeKeyCard, encodeKeyCard, grantBody, ownPublicKeys, verifyInstance } =
  await import("../src/client/instances/trust");
type Ready = Extract<ReturnType<typeof store.getState>, { status: "ready" }>;
type AccountKeyPairs = Ready["keys"];

const g = globalThis as { window?: unknown; sessionStorage?: unknown };
beforeAll(() => {
  const items = new Map<string, string>();
  g.sessionStorage = {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
  g.window = { location: { origin: "https://console.test" } };
  return () => {
    delete g.sessionStorage;
    delete g.window;
  };
});
afterEach(() => {
  fake.me = [];
  fake.grants = [];
  fake.instancesMade = 0;
});

const userId = crypto.randomUUID();
const sessionId = crypto.randomUUID();
const { keys: real, wire } = createAccountKeys(userId, randomBytes(32) as WrapKey);
/** A copy of the key pairs (the store wipes the ones it drops). */
const copy = (k: AccountKeyPairs): AccountKeyPairs => ({
  identity: identityKeyPairFromPrivateKey(k.identity.privateKey),
  box: boxKeyPairFromPrivateKey(k.box.privateKey),
});
const realIdentity = toBase64Url(real.identity.publicKey);
const realBox = toBase64Url(real.box.publicKey);

/** GET /api/me as the console first serves it: the account's real public keys. */
const me: TMeResponse = {
  user: {
    id: userId,
    email: "admin@example.test",
    role: "admin",
    totpEnabled: false,
    createdAt: new Date().toISOString(),
    idleTimeoutSeconds: 3600,
    keysVersion: 1,
  },
  kdf: { alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1, salt: toBase64Url(randomBytes(16)) },
  keys: wire,
  recovery: null,
  session: { id: sessionId, expiresAt: new Date(Date.now() + 3600_000).toISOString(), stepUpUntil: null },
};

// The console's own keys, and a box-key certificate its identity key signed for the admin's account id.
const consoleIdentity = generateIdentityKeyPair();
const consoleBox = generateBoxKeyPair();
const consoleKeys = {
  identityPublicKey: toBase64Url(consoleIdentity.publicKey),
  boxPublicKey: toBase64Url(consoleBox.publicKey),
  boxKeyCertificate: encodeCertificate(
    certifyBoxKey(consoleIdentity.privateKey, consoleBox.publicKey, {
      ownerKind: "account",
      purpose: "box",
      ownerId: userId,
      epoch: 0,
    }),
  ),
};
/** The refresh's answer: the console's keys and certificate, wrapped keys unchanged. */
const swapped: TMeResponse = { ...me, keys: { ...me.keys, ...consoleKeys } };
/** The console's keys with the account's real certificate kept. */
const swappedKeysOnly: TMeResponse = {
  ...me,
  keys: { ...me.keys, identityPublicKey: consoleKeys.identityPublicKey, boxPublicKey: consoleKeys.boxPublicKey },
};

/** An instance the admin certified (so the admin's browser is its signer and signs itself a grant). */
function adminInstance() {
  const id = crypto.randomUUID();
  const identity = toBase64Url(generateIdentityKeyPair().publicKey);
  const box = toBase64Url(generateBoxKeyPair().publicKey);
  const statement = signStatement(
    INSTANCE_CERTIFICATE_DOMAIN,
    { instanceId: id, name: "site", identityPublicKey: identity, boxPublicKey: box, issuedAt: Date.now() },
    real.identity.privateKey,
  );
  const summary: TInstanceSummary = {
    id,
    name: "site",
    adminUserId: userId,
    identityPublicKey: identity,
    boxPublicKey: box,
    certificate: { statement, signerPublicKey: realIdentity },
    createdAt: new Date().toISOString(),
    enrolledAt: null,
    rotatedAt: null,
    revokedAt: null,
    presence: { online: true, lastSeenAt: null, companionVersion: null, address: null },
    myRole: "admin",
  };
  return verifyInstance(summary);
}

/** The keys a signed grant names, or "refused" when nothing was signed. */
async function signedFor(bundle: Promise<TGrantBundle>): Promise<{ identity: string; box: string } | "refused"> {
  try {
    const body = grantBody(await bundle)?.body;
    if (!body) throw new Error("grant does not verify");
    return { identity: body.identityPublicKey, box: body.boxPublicKey };
  } catch (error) {
    if (error instanceof KeyIntegrityError) return "refused";
    throw error;
  }
}

const ready = (served: TMeResponse): Ready => ({ status: "ready", me: served, keys: copy(real), safetyCode: "" });

describe("a console that swaps the account's public keys after sign-in", () => {
  it("refreshMe checks the served keys against the key pairs in memory and ends the session on a swap", async () => {
    fake.me.push(me);
    await store.completeSignIn(
      { token: "A".repeat(43), userId, sessionId, email: "admin@example.test" },
      randomBytes(32) as WrapKey,
      copy(real),
    );
    expect(store.getState().status).toBe("ready");

    // An honest refresh keeps the session.
    fake.me.push({ ...me, user: { ...me.user, idleTimeoutSeconds: 7200 } });
    await store.refreshMe();
    expect(store.getState()).toMatchObject({ status: "ready", me: { user: { idleTimeoutSeconds: 7200 } } });

    // The console's own keys and certificate: the tab forgets everything and says why.
    fake.me.push(swapped);
    await expect(store.refreshMe()).rejects.toBeInstanceOf(KeyIntegrityError);
    const state = store.getState();
    expect(state.status).toBe("anonymous");
    expect(state.status === "anonymous" ? state.notice : null).toMatch(/could not be verified/);
    expect(fake.logouts).toBeGreaterThan(0);
  });

  it("refreshMe ends the session when the console answers for another account", async () => {
    fake.me.push(me);
    await store.completeSignIn(
      { token: "A".repeat(43), userId, sessionId, email: "admin@example.test" },
      randomBytes(32) as WrapKey,
      copy(real),
    );
    fake.me.push({ ...me, user: { ...me.user, id: crypto.randomUUID() } });
    await expect(store.refreshMe()).rejects.toBeInstanceOf(KeyIntegrityError);
    expect(store.getState().status).toBe("anonymous");
  });

  it("the self-grant names the key pairs in memory, never the served keys", async () => {
    const verified = adminInstance();
    // Served keys and certificate of the console's: nothing is signed.
    expect(await signedFor(bundleSource(ready(swapped), verified)())).toBe("refused");
    // Served keys of the console's, the real certificate kept: the grant names the real keys.
    expect(await signedFor(bundleSource(ready(swappedKeysOnly), verified)())).toEqual({
      identity: realIdentity,
      box: realBox,
    });
    expect(await signedFor(bundleSource(ready(me), verified)())).toEqual({ identity: realIdentity, box: realBox });
  });

  it("Add an instance signs the admin's own grant only for the key pairs in memory", async () => {
    await expect(addInstance("site", swapped, copy(real), () => undefined)).rejects.toBeInstanceOf(KeyIntegrityError);
    // Refused before anything was made or stored.
    expect(fake.instancesMade).toBe(0);
    expect(fake.grants).toEqual([]);

    await addInstance("site", swappedKeysOnly, copy(real), () => undefined);
    expect(fake.grants).toHaveLength(1);
    const stored = fake.grants[0]?.body as TGrantCreateRequest;
    expect(await signedFor(Promise.resolve(stored.bundle))).toEqual({ identity: realIdentity, box: realBox });
  });

  it("the key card carries the key pairs in memory, and no card comes from a certificate for other keys", () => {
    expect(() => ownPublicKeys(userId, real, swapped.keys.boxKeyCertificate)).toThrow(KeyIntegrityError);
    const card = decodeKeyCard(encodeKeyCard(ownPublicKeys(userId, real, swappedKeysOnly.keys.boxKeyCertificate)));
    expect(card.keys).toMatchObject({ accountId: userId, identityPublicKey: realIdentity, boxPublicKey: realBox });
  });
});
