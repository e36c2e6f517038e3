/**
 * Resume-within-the-tab for unwrapped private keys, so a reload does not ask for the password.
 *
 * Three halves, in three places, all needed to open the keys:
 * - the AES-256-GCM ciphertext of the keys, in sessionStorage (with the session token);
 * - a NON-EXTRACTABLE WebCrypto HKDF key, in IndexedDB, stored as an opaque object whose raw
 *   bytes no script — not even ours — can read;
 * - the session's tab vault share (32 random bytes), held only by the console and given only to
 *   the live session in GET /api/me; the tab keeps it in memory, never in storage.
 * The AES key is HKDF-SHA-256(IKM = the IndexedDB key, salt = the share, info = label ‖ vault id)
 * (RFC 5869 §2.2: with either input secret and random the output is a pseudorandom key); the
 * AAD binds the ciphertext to the user and session.
 *
 * sessionStorage does not reliably die with the tab: reopen-closed-tab and session restore
 * (Chromium, Firefox) bring it back, and the profile on disk keeps it and IndexedDB. What
 * survives is useless once the session has ended: the console clears the share at log-out,
 * revocation and expiry, and without it the two browser halves open nothing. The console, which
 * has the share, never sees the other two. IndexedDB records carry their session's expiry (at
 * most the 30-day session cap); expired ones are purged at every page load.
 *
 * A tab reopened while its session is still live gets the share like a reload does: that is
 * what a reload is, and the restored token alone is that session too. Log-out or a short idle
 * timeout ends it.
 */
import { IDLE_TIMEOUT_MAX_SECONDS, ZTabVaultShareSchema } from "@veil/protocol";
import { concat, fromBase64Url, randomBytes, toBase64Url, utf8, wipe } from "@veil/crypto";

const DB_NAME = "veil-tab-vault";
const STORE = "keys";
/** The longest a session lives (VEIL_SESSION_MAX_SECONDS is at most this): no record outlives it. */
const MAX_AGE_MS = IDLE_TIMEOUT_MAX_SECONDS * 1000;
const INFO = "veil/v2/tab-vault/key";

interface VaultRecord {
  readonly id: string;
  /** HKDF key material, non-extractable, usable only to derive the vault's AES-GCM key. */
  readonly key: CryptoKey;
  readonly createdAt: number;
  /** The session's absolute expiry (ms), capped at createdAt + MAX_AGE_MS: purged after it. */
  readonly expiresAt: number;
}

/** The sessionStorage half. */
export interface SealedTabKeys {
  readonly vaultId: string;
  readonly iv: string;
  readonly ciphertext: string;
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB unavailable"));
  });
}

async function withStore<T>(
  mode: IDBTransactionMode,
  run: (store: IDBObjectStore) => IDBRequest<T> | null,
): Promise<T | undefined> {
  const db = await openDb();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = run(tx.objectStore(STORE));
      let value: T | undefined;
      if (req) req.onsuccess = () => (value = req.result);
      tx.oncomplete = () => resolve(value);
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** WebCrypto wants ArrayBuffer-backed views; copy into one. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

function aad(userId: string, sessionId: string): Uint8Array<ArrayBuffer> {
  return buf(utf8(`veil/v2/tab-vault\u0000${userId}\u0000${sessionId}`));
}

/** The share as bytes, or null when absent or not 32 bytes of base64url. */
function shareBytes(share: string | null | undefined): Uint8Array<ArrayBuffer> | null {
  const parsed = ZTabVaultShareSchema.safeParse(share);
  return parsed.success ? buf(fromBase64Url(parsed.data)) : null;
}

/** The vault's AES-256-GCM key: HKDF-SHA-256 over the IndexedDB key, salted with the console's share. */
function vaultKey(material: CryptoKey, share: Uint8Array<ArrayBuffer>, vaultId: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: share, info: buf(utf8(`${INFO}\u0000${vaultId}`)) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * Encrypts the two 32-byte private keys for this tab; returns the sessionStorage half. `share`
 * is the session's tab vault share (GET /api/me); `sessionExpiresAt` its absolute expiry, after
 * which the IndexedDB half is purged.
 */
export async function sealForTab(
  identityPrivate: Uint8Array,
  boxPrivate: Uint8Array,
  userId: string,
  sessionId: string,
  unseal: { readonly share: string | undefined; readonly sessionExpiresAt: string },
): Promise<SealedTabKeys> {
  const now = Date.now();
  const sessionEnd = Date.parse(unseal.sessionExpiresAt);
  if (!(sessionEnd > now)) throw new RangeError("tab vault: sessionExpiresAt must be in the future");
  const share = shareBytes(unseal.share);
  if (!share) throw new TypeError("tab vault: share must be 32 bytes of base64url");
  const ikm = buf(randomBytes(32));
  const plain = buf(concat(identityPrivate, boxPrivate));
  try {
    const material = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey"]);
    const vaultId = toBase64Url(randomBytes(16));
    const iv = buf(randomBytes(12));
    const key = await vaultKey(material, share, vaultId);
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(userId, sessionId) }, key, plain),
    );
    const record: VaultRecord = {
      id: vaultId,
      key: material,
      createdAt: now,
      expiresAt: Math.min(sessionEnd, now + MAX_AGE_MS),
    };
    await withStore("readwrite", (s) => s.put(record));
    return { vaultId, iv: toBase64Url(iv), ciphertext: toBase64Url(ct) };
  } finally {
    wipe(plain, ikm, share);
  }
}

/**
 * Decrypts the tab's keys, or returns null: no share (the session has ended, or predates
 * shares), a wrong share, a missing or expired IndexedDB key, a tampered ciphertext, another
 * user or session.
 */
export async function openForTab(
  sealed: SealedTabKeys,
  userId: string,
  sessionId: string,
  share: string | undefined,
): Promise<{ identityPrivate: Uint8Array; boxPrivate: Uint8Array } | null> {
  const salt = shareBytes(share);
  if (!salt) return null;
  try {
    const record =
      (await withStore<VaultRecord | undefined>(
        "readonly",
        (s) => s.get(sealed.vaultId) as IDBRequest<VaultRecord | undefined>,
      )) ?? undefined;
    if (!record || !isLive(record, Date.now())) return null;
    const key = await vaultKey(record.key, salt, sealed.vaultId);
    const plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: buf(fromBase64Url(sealed.iv)), additionalData: aad(userId, sessionId) },
        key,
        buf(fromBase64Url(sealed.ciphertext)),
      ),
    );
    if (plain.length !== 64) {
      wipe(plain);
      return null;
    }
    const out = { identityPrivate: plain.slice(0, 32), boxPrivate: plain.slice(32) };
    wipe(plain);
    return out;
  } catch {
    return null;
  } finally {
    wipe(salt);
  }
}

/** A record of this format whose session may still be live (older formats and expired ones are not). */
function isLive(value: unknown, now: number): value is VaultRecord {
  const r = value as Partial<VaultRecord> | null;
  return (
    typeof r?.expiresAt === "number" &&
    typeof r.createdAt === "number" &&
    r.expiresAt > now &&
    r.expiresAt <= r.createdAt + MAX_AGE_MS &&
    r.key instanceof CryptoKey &&
    r.key.algorithm.name === "HKDF"
  );
}

/**
 * Deletes this tab's IndexedDB key (if `vaultId`) and every record past its session's expiry or
 * of an older format. Called at every page load (session-store bootstrap) and at session end.
 */
export async function forgetTab(vaultId: string | null): Promise<void> {
  try {
    const now = Date.now();
    await withStore("readwrite", (s) => {
      if (vaultId) s.delete(vaultId);
      const cursor = s.openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        if (!isLive(c.value, now)) c.delete();
        c.continue();
      };
      return null;
    });
  } catch {
    // IndexedDB unavailable (private mode): nothing stored, nothing to forget.
  }
}
