/**
 * Resume-within-the-tab for unwrapped private keys, so a reload does not ask for the password.
 *
 * The private keys are encrypted with AES-256-GCM under a NON-EXTRACTABLE WebCrypto key. The
 * ciphertext lives in sessionStorage (this tab only; gone when the tab closes); the CryptoKey
 * handle lives in IndexedDB, which stores it as an opaque object whose raw bytes no script —
 * not even ours — can read. Neither half alone yields the keys; the AAD binds the ciphertext to
 * the user and session. Log-out, session end and a failed check delete both halves. Entries
 * left behind by closed tabs are useless without their sessionStorage half and are purged after
 * the 30-day session cap.
 */
import { concat, fromBase64Url, randomBytes, toBase64Url, utf8, wipe } from "@veil/crypto";

const DB_NAME = "veil-tab-vault";
const STORE = "keys";
const MAX_AGE_MS = 30 * 86_400_000;

interface VaultRecord {
  readonly id: string;
  readonly key: CryptoKey;
  readonly createdAt: number;
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
  return buf(utf8(`veil/v1/tab-vault\u0000${userId}\u0000${sessionId}`));
}

/** Encrypts the two 32-byte private keys for this tab; returns the sessionStorage half. */
export async function sealForTab(
  identityPrivate: Uint8Array,
  boxPrivate: Uint8Array,
  userId: string,
  sessionId: string,
): Promise<SealedTabKeys> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const vaultId = toBase64Url(randomBytes(16));
  const iv = buf(randomBytes(12));
  const plain = buf(concat(identityPrivate, boxPrivate));
  try {
    const ct = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(userId, sessionId) }, key, plain),
    );
    await withStore("readwrite", (s) => s.put({ id: vaultId, key, createdAt: Date.now() } satisfies VaultRecord));
    return { vaultId, iv: toBase64Url(iv), ciphertext: toBase64Url(ct) };
  } finally {
    wipe(plain);
  }
}

/** Decrypts the tab's keys, or returns null (missing key, tampered ciphertext, other session). */
export async function openForTab(
  sealed: SealedTabKeys,
  userId: string,
  sessionId: string,
): Promise<{ identityPrivate: Uint8Array; boxPrivate: Uint8Array } | null> {
  try {
    const record =
      (await withStore<VaultRecord | undefined>(
        "readonly",
        (s) => s.get(sealed.vaultId) as IDBRequest<VaultRecord | undefined>,
      )) ?? undefined;
    if (!record) return null;
    const plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: buf(fromBase64Url(sealed.iv)), additionalData: aad(userId, sessionId) },
        record.key,
        buf(fromBase64Url(sealed.ciphertext)),
      ),
    );
    if (plain.length !== 64) return null;
    const out = { identityPrivate: plain.slice(0, 32), boxPrivate: plain.slice(32) };
    wipe(plain);
    return out;
  } catch {
    return null;
  }
}

/** Deletes this tab's CryptoKey and every entry older than the session cap. */
export async function forgetTab(vaultId: string | null): Promise<void> {
  try {
    const cutoff = Date.now() - MAX_AGE_MS;
    await withStore("readwrite", (s) => {
      if (vaultId) s.delete(vaultId);
      const cursor = s.openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        if ((c.value as VaultRecord).createdAt < cutoff) c.delete();
        c.continue();
      };
      return null;
    });
  } catch {
    // IndexedDB unavailable (private mode): nothing stored, nothing to forget.
  }
}
