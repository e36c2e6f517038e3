// The tab vault against someone who reopens a closed tab on a shared machine, or reads the
// browser profile on disk: sessionStorage (token, sealed keys) comes back with session restore,
// and IndexedDB (the vault's CryptoKey) stays. Once the console session has ended, these halves
// must open nothing. tab-vault.ts and the session store run here for real in Node (WebCrypto
// is Node's); IndexedDB and sessionStorage are in-memory stand-ins whose contents play "the
// disk", and the console's answers (GET /api/me) are scripted.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { fromBase64Url, randomBytes, toBase64Url, type WrapKey } from "@veil/crypto";
import type { TMeResponse } from "@veil/protocol";

const fake = vi.hoisted(() => ({ me: [] as (() => Promise<unknown>)[] }));

vi.mock("../src/client/endpoints", () => ({
  getMe: () => (fake.me.shift() ?? (() => Promise.reject(new Error("no answer scripted"))))(),
  logout: () => Promise.resolve({ ok: true }),
}));
vi.mock("../src/client/live-socket", () => ({
  connectLiveSocket: () => Promise.resolve(),
  disconnectLiveSocket: () => undefined,
}));

// ---- "the disk": what the browser profile keeps --------------------------------------------

/** IndexedDB contents: database → store → key → value (values structured-cloned, as IndexedDB does). */
const idbDisk = new Map<string, Map<string, Map<string, unknown>>>();
/** sessionStorage contents (what session restore brings back). */
const sessionDisk = new Map<string, string>();

/** A minimal IndexedDB: open/upgrade, one object store with keyPath, put/get/delete, cursors. */
function fakeIndexedDb() {
  const later = (f: () => void) => setTimeout(f, 0);
  type Req = {
    result: unknown;
    error: null;
    onsuccess: (() => void) | null;
    onerror: (() => void) | null;
    onupgradeneeded?: (() => void) | null;
  };
  const request = (): Req => ({ result: undefined, error: null, onsuccess: null, onerror: null });
  function database(name: string) {
    const stores = idbDisk.get(name) ?? new Map<string, Map<string, unknown>>();
    idbDisk.set(name, stores);
    const keyPaths = new Map<string, string>();
    return {
      createObjectStore(store: string, options: { keyPath: string }) {
        stores.set(store, new Map());
        keyPaths.set(store, options.keyPath);
      },
      close() {},
      transaction(store: string) {
        const rows = stores.get(store);
        if (!rows) throw new Error(`no store ${store}`);
        let pending = 0;
        const tx = {
          oncomplete: null as (() => void) | null,
          onerror: null as (() => void) | null,
          onabort: null as (() => void) | null,
          error: null,
          objectStore: () => ({
            put: (value: Record<string, unknown>) => op(() => void rows.set(String(value.id), structuredClone(value))),
            get: (key: string) => op(() => (rows.has(key) ? structuredClone(rows.get(key)) : undefined)),
            delete: (key: string) => op(() => void rows.delete(key)),
            openCursor: () => {
              const req = request();
              pending++;
              const keys = [...rows.keys()];
              let i = 0;
              const step = () =>
                later(() => {
                  const key = keys[i++];
                  if (key === undefined || !rows.has(key)) {
                    if (key !== undefined) return step();
                    req.result = null;
                    req.onsuccess?.();
                    pending--;
                    return finish();
                  }
                  req.result = {
                    value: structuredClone(rows.get(key)),
                    delete: () => rows.delete(key),
                    continue: step,
                  };
                  req.onsuccess?.();
                });
              step();
              return req;
            },
          }),
        };
        const finish = () => later(() => pending === 0 && tx.oncomplete?.());
        function op(run: () => unknown) {
          const req = request();
          pending++;
          later(() => {
            req.result = run();
            req.onsuccess?.();
            pending--;
            finish();
          });
          return req;
        }
        finish();
        return tx;
      },
    };
  }
  return {
    open(name: string) {
      const req = request();
      later(() => {
        const fresh = !idbDisk.has(name);
        req.result = database(name);
        if (fresh) req.onupgradeneeded?.();
        req.onsuccess?.();
      });
      return req;
    },
  };
}

const g = globalThis as { window?: unknown; sessionStorage?: unknown; indexedDB?: unknown };
beforeAll(() => {
  g.sessionStorage = {
    getItem: (k: string) => sessionDisk.get(k) ?? null,
    setItem: (k: string, v: string) => void sessionDisk.set(k, v),
    removeItem: (k: string) => void sessionDisk.delete(k),
  };
  g.indexedDB = fakeIndexedDb();
  g.window = { location: { origin: "https://console.test" } };
  return () => {
    delete g.sessionStorage;
    delete g.indexedDB;
    delete g.window;
  };
});
afterEach(() => {
  fake.me = [];
  idbDisk.clear();
  sessionDisk.clear();
  vi.restoreAllMocks();
});

const vault = await import("../src/client/tab-vault");
const { createAccountKeys } = await import("../src/client/account-keys");

const share = () => toBase64Url(randomBytes(32));
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();
const vaultRecords = () =>
  [...(idbDisk.get("veil-tab-vault")?.get("keys")?.values() ?? [])] as { id: string; key: CryptoKey }[];

/** Everything an attacker holding both browser halves but no share can try. */
async function attackerOpens(
  sealed: { vaultId: string; iv: string; ciphertext: string },
  userId: string,
  sessionId: string,
  records = vaultRecords(),
) {
  const wins: string[] = [];
  for (const guess of [undefined, "", toBase64Url(new Uint8Array(32)), share()]) {
    if (await vault.openForTab(sealed, userId, sessionId, guess)) wins.push(`openForTab(${String(guess)})`);
  }
  const iv = Uint8Array.from(fromBase64Url(sealed.iv));
  const ct = Uint8Array.from(fromBase64Url(sealed.ciphertext));
  for (const { key } of records) {
    // The IndexedDB CryptoKey used as the AES-GCM key itself, with and without the AAD forms.
    for (const additionalData of [
      undefined,
      new TextEncoder().encode(`veil/v1/tab-vault\u0000${userId}\u0000${sessionId}`),
      new TextEncoder().encode(`veil/v2/tab-vault\u0000${userId}\u0000${sessionId}`),
    ]) {
      try {
        await crypto.subtle.decrypt(
          additionalData ? { name: "AES-GCM", iv, additionalData } : { name: "AES-GCM", iv },
          key,
          ct,
        );
        wins.push("decrypt with the stored key");
      } catch {
        // refused
      }
    }
  }
  return wins;
}

describe("tab vault: the console's share is the third half", () => {
  const userId = crypto.randomUUID();
  const sessionId = crypto.randomUUID();
  const identity = randomBytes(32);
  const box = randomBytes(32);

  it("opens with the share it was sealed with, and not with another one or none", async () => {
    const s = share();
    const sealed = await vault.sealForTab(identity, box, userId, sessionId, { share: s, sessionExpiresAt: inAnHour() });
    expect(await vault.openForTab(sealed, userId, sessionId, s)).toEqual({
      identityPrivate: identity,
      boxPrivate: box,
    });
    expect(await vault.openForTab(sealed, userId, sessionId, share())).toBeNull();
    expect(await vault.openForTab(sealed, userId, sessionId, undefined)).toBeNull();
    expect(await vault.openForTab(sealed, userId, sessionId, "not a share")).toBeNull();
    // Still bound to the user and session too.
    expect(await vault.openForTab(sealed, userId, crypto.randomUUID(), s)).toBeNull();
    // The key kept in IndexedDB is HKDF material, not an AES key, and cannot be exported.
    const [record] = vaultRecords();
    expect(record?.key).toMatchObject({ extractable: false, type: "secret", algorithm: { name: "HKDF" } });
    expect(await attackerOpens(sealed, userId, sessionId)).toEqual([]);
  });

  it("refuses to seal without a share (a session from before shares: a reload asks for the password)", async () => {
    await expect(
      vault.sealForTab(identity, box, userId, sessionId, { share: undefined, sessionExpiresAt: inAnHour() }),
    ).rejects.toThrow(TypeError);
    expect(vaultRecords()).toEqual([]);
  });

  it("keeps an IndexedDB key no longer than its session (at most 30 days) and purges it after", async () => {
    const now = Date.now();
    const s = share();
    const sealed = await vault.sealForTab(identity, box, userId, sessionId, {
      share: s,
      sessionExpiresAt: new Date(now + 3600_000).toISOString(),
    });
    const long = await vault.sealForTab(identity, box, userId, sessionId, {
      share: s,
      sessionExpiresAt: new Date(now + 60 * 86_400_000).toISOString(),
    });
    const stored = idbDisk.get("veil-tab-vault")?.get("keys");
    expect((stored?.get(long.vaultId) as { expiresAt: number }).expiresAt).toBeLessThanOrEqual(
      now + 30 * 86_400_000 + 1000,
    );
    // Two hours later the first session has ended: even with its share the key is refused and purged.
    vi.spyOn(Date, "now").mockReturnValue(now + 2 * 3600_000);
    expect(await vault.openForTab(sealed, userId, sessionId, s)).toBeNull();
    await vault.forgetTab(null);
    expect(stored?.has(sealed.vaultId)).toBe(false);
    expect(stored?.has(long.vaultId)).toBe(true);
    // 31 days later nothing is left.
    vi.spyOn(Date, "now").mockReturnValue(now + 31 * 86_400_000);
    await vault.forgetTab(null);
    expect(stored?.size).toBe(0);
  });
});

describe("a reopened tab after the session ended", () => {
  it("restores sessionStorage and IndexedDB but unlocks nothing, and the share was never stored", async () => {
    const userId = crypto.randomUUID();
    const sessionId = crypto.randomUUID();
    const wrapKey = randomBytes(32) as WrapKey;
    const { keys, wire } = createAccountKeys(userId, wrapKey);
    const identityPrivate = Uint8Array.from(keys.identity.privateKey);
    const tabVaultShare = share();
    const me: TMeResponse = {
      user: {
        id: userId,
        email: "user@example.test",
        role: "operator",
        totpEnabled: false,
        createdAt: new Date().toISOString(),
        idleTimeoutSeconds: 3600,
        keysVersion: 1,
      },
      kdf: { alg: "argon2id", memoryKiB: 65536, iterations: 3, parallelism: 1, salt: toBase64Url(randomBytes(16)) },
      keys: wire,
      recovery: null,
      session: { id: sessionId, expiresAt: inAnHour(), stepUpUntil: null, tabVaultShare },
    };

    // Sign in: the tab seals its keys for a reload.
    let store = await import("../src/client/session-store");
    fake.me.push(() => Promise.resolve(me));
    await store.completeSignIn({ token: "T".repeat(43), userId, sessionId, email: "user@example.test" }, wrapKey);
    expect(store.getState().status).toBe("ready");
    const raw = sessionDisk.get("veil.session.v1") ?? "";
    const sealed = (JSON.parse(raw) as { vault: { vaultId: string; iv: string; ciphertext: string } }).vault;
    expect(sealed).toBeTruthy();
    // The share lives in the tab's memory only: neither sessionStorage nor IndexedDB holds it.
    expect(raw).not.toContain(tabVaultShare);
    const shareBytes = Buffer.from(fromBase64Url(tabVaultShare));
    for (const record of vaultRecords()) {
      const text = JSON.stringify(record);
      expect(text).not.toContain(tabVaultShare);
      expect(text).not.toContain(shareBytes.toString("hex"));
    }

    // A reload while the session lives resumes without the password.
    vi.resetModules();
    store = await import("../src/client/session-store");
    fake.me.push(() => Promise.resolve(me));
    await store.bootstrap();
    const resumed = store.getState();
    expect(resumed.status).toBe("ready");
    expect(resumed.status === "ready" ? resumed.keys.identity.privateKey : null).toEqual(identityPrivate);

    // The tab is closed (no log-out: the user walked away), the session ends on the console
    // (idle timeout, log-out elsewhere, revocation), and someone reopens the closed tab: session
    // restore brings sessionStorage back, IndexedDB never went.
    // The attacker copies the profile first (the page would delete its IndexedDB half).
    const restored = new Map(sessionDisk);
    const keysOnDisk = vaultRecords();
    vi.resetModules();
    store = await import("../src/client/session-store");
    const { ApiError } = await import("../src/client/api");
    fake.me.push(() => Promise.reject(new ApiError("session_expired", "Your session has ended.", { status: 401 })));
    await store.bootstrap();
    expect(store.getState().status).toBe("anonymous");

    // The attacker skips the page and works on what the profile holds: the restored sealed keys
    // and every IndexedDB key. Without the share nothing opens.
    const stolen = (JSON.parse(restored.get("veil.session.v1") ?? "") as { vault: typeof sealed }).vault;
    // Its IndexedDB key is among them (the reload sealed afresh; the older key may linger).
    expect(keysOnDisk.map((r) => r.id)).toContain(stolen.vaultId);
    expect(await attackerOpens(stolen, userId, sessionId, keysOnDisk)).toEqual([]);
    // The page itself dropped both halves when it learnt the session had ended.
    expect(sessionDisk.has("veil.session.v1")).toBe(false);
    await expect.poll(() => vaultRecords().length).toBe(0);
  });
});
