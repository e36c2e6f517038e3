/**
 * The tab's session: the token (sessionStorage, never a cookie; session restore may bring it
 * back, and the console ends the session it names at log-out, revocation and expiry), the
 * account as GET /api/me describes it (memory only, with the session's tab vault share), and the
 * unwrapped private keys (memory only; at most re-sealed for this tab by tab-vault.ts so a
 * reload resumes, openable only with the share the live session gets). React reads it through
 * useSyncExternalStore (hooks/use-session.ts).
 */
import { DecryptError, safetyCode, wipe, type WrapKey } from "@veil/crypto";
import { ZMeResponseSchema, type TMeResponse } from "@veil/protocol";
import { z } from "zod";
import {
  KeyIntegrityError,
  checkKeyPairs,
  checkServedPublicKeys,
  unwrapAccountKeys,
  wipeAccountKeys,
  type AccountKeyPairs,
} from "./account-keys";
import { configureApi } from "./api";
import { deriveInWorker } from "./derive-keys";
import * as api from "./endpoints";
import { checkServedParams } from "./kdf-params";
import { connectLiveSocket, disconnectLiveSocket } from "./live-socket";
import { forgetTab, openForTab, sealForTab, type SealedTabKeys } from "./tab-vault";

export type SessionState =
  | { readonly status: "loading" }
  | { readonly status: "anonymous"; readonly notice: string | null }
  /** A valid token but no keys in memory (reload without a tab vault): ask for the password. */
  | { readonly status: "locked"; readonly me: TMeResponse }
  | { readonly status: "ready"; readonly me: TMeResponse; readonly keys: AccountKeyPairs; readonly safetyCode: string };

const STORAGE_KEY = "veil.session.v1";
const ZStoredSchema = z.object({
  token: z.string(),
  userId: z.string(),
  sessionId: z.string(),
  /** The e-mail as the user typed it at sign-in (normalised): the KDF context for re-derivations. */
  email: z.string(),
  vault: z.object({ vaultId: z.string(), iv: z.string(), ciphertext: z.string() }).nullable(),
});
type Stored = z.infer<typeof ZStoredSchema>;

let state: SessionState = { status: "loading" };
let stored: Stored | null = null;
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  if (state.status === "ready" && (next.status !== "ready" || next.keys !== state.keys)) wipeAccountKeys(state.keys);
  state = next;
  if ((next.status === "ready" || next.status === "locked") && stored) {
    void connectLiveSocket(stored.token, (message) => endLocally(message)).catch(() => undefined);
  } else if (next.status === "anonymous") {
    disconnectLiveSocket();
  }
  for (const l of listeners) l();
}

function readStored(): Stored | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (raw === null) return null;
    const parsed = ZStoredSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function writeStored(next: Stored | null): void {
  stored = next;
  if (next === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
}

/** Drops everything this tab holds for the session (token, keys, tab vault). */
function endLocally(notice: string | null): void {
  const vaultId = stored?.vault?.vaultId ?? null;
  writeStored(null);
  set({ status: "anonymous", notice });
  void forgetTab(vaultId);
}

configureApi({
  getToken: () => stored?.token ?? null,
  onSessionEnded: (code) => {
    if (state.status === "ready" || state.status === "locked")
      endLocally(code === "session_expired" ? "Your session has ended. Sign in again." : "You were signed out.");
  },
});

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
export function getState(): SessionState {
  return state;
}
const SERVER_STATE: SessionState = { status: "loading" };
export function getServerState(): SessionState {
  return SERVER_STATE;
}

async function becomeReady(me: TMeResponse, keys: AccountKeyPairs): Promise<void> {
  const code = safetyCode(keys.identity.publicKey);
  const before = stored;
  if (before) {
    let vault: SealedTabKeys | null = null;
    try {
      vault = await sealForTab(keys.identity.privateKey, keys.box.privateKey, me.user.id, me.session.id, {
        share: me.session.tabVaultShare,
        sessionExpiresAt: me.session.expiresAt,
      });
    } catch {
      // No IndexedDB, no WebCrypto HKDF/AES-GCM, or no share (a session from before shares):
      // a reload will ask for the password instead.
    }
    if (before.vault) void forgetTab(before.vault.vaultId);
    // The session may have ended while sealing: then the new vault goes too.
    if (stored?.token === before.token) writeStored({ ...stored, vault });
    else if (vault) void forgetTab(vault.vaultId);
  }
  set({ status: "ready", me, keys, safetyCode: code });
}

let booting: Promise<void> | null = null;
/**
 * Restores the tab's session on page load: token → GET /api/me (with the session's tab vault
 * share) → tab vault, else "locked". First purges tab vault keys whose session has expired.
 */
export function bootstrap(): Promise<void> {
  booting ??= (async () => {
    void forgetTab(null);
    const saved = readStored();
    if (saved === null) return set({ status: "anonymous", notice: null });
    stored = saved;
    let me: TMeResponse;
    try {
      me = await api.getMe();
    } catch {
      if (state.status === "loading") endLocally(null);
      return;
    }
    if (me.user.id !== saved.userId || me.session.id !== saved.sessionId) return endLocally(null);
    const opened = saved.vault
      ? await openForTab(saved.vault, me.user.id, me.session.id, me.session.tabVaultShare)
      : null;
    if (saved.vault && !opened) {
      // Unopenable for good (key gone, share gone or another one): drop both halves.
      void forgetTab(saved.vault.vaultId);
      writeStored({ ...saved, vault: null });
    }
    if (opened) {
      try {
        const keys = checkKeyPairs(me.keys, opened.identityPrivate, opened.boxPrivate, me.user.id);
        return await becomeReady(me, keys);
      } catch {
        // fall through to locked
      } finally {
        wipe(opened.identityPrivate, opened.boxPrivate);
      }
    }
    set({ status: "locked", me });
  })();
  return booting;
}

/**
 * After log-in or sign-up: keep the token, fetch the account, unwrap the keys with the WrapKey
 * just derived. If the keys do not open or do not match, the session is ended and the error
 * thrown. Does not wipe `wrapKey` (the caller does).
 */
export async function completeSignIn(
  session: { token: string; userId: string; sessionId: string; email: string },
  wrapKey: WrapKey,
  known?: AccountKeyPairs,
): Promise<void> {
  const { userId } = session;
  writeStored({ ...session, vault: null });
  try {
    const me = ZMeResponseSchema.parse(await api.getMe());
    if (me.user.id !== userId) throw new Error("The console answered for another account.");
    let keys: AccountKeyPairs;
    try {
      keys = known ?? unwrapAccountKeys(me.keys, me.keys, me.user.id, wrapKey);
    } catch (error) {
      // The console accepted the password but served keys it does not open: tampering or corruption.
      throw error instanceof DecryptError
        ? new KeyIntegrityError("wrapped keys do not open with your password")
        : error;
    }
    if (known) checkKeyPairs(me.keys, known.identity.privateKey, known.box.privateKey, me.user.id);
    await becomeReady(me, keys);
  } catch (error) {
    await api.logout().catch(() => undefined);
    endLocally(null);
    throw error;
  }
}

/** Unlocks a "locked" session with the password (no second factor: the session already passed it). */
export async function unlock(password: string, onDeriving?: (cost: string) => void): Promise<void> {
  if (state.status !== "locked") return;
  const me = state.me;
  const params = checkServedParams(me.kdf);
  onDeriving?.(`${Math.round(params.memoryKiB / 1024)} MiB, ${params.iterations} passes`);
  const { authKey, wrapKey } = await deriveInWorker(password, params, "password", accountEmail());
  try {
    let keys: AccountKeyPairs;
    try {
      keys = unwrapAccountKeys(me.keys, me.keys, me.user.id, wrapKey);
    } catch (error) {
      throw error instanceof DecryptError ? new Error("That password does not unlock your keys.") : error;
    }
    await becomeReady(me, keys);
  } finally {
    wipe(authKey, wrapKey);
  }
}

/**
 * The e-mail the user typed when signing in to this tab (normalised). Re-derivations (unlock,
 * step-up, password change, recovery kit) use it as the KDF context, never the console's copy.
 */
export function accountEmail(): string {
  if (!stored) throw new Error("Not signed in.");
  return stored.email;
}

/**
 * Re-reads GET /api/me (after settings changes), keeping the keys. The answer is checked as at
 * sign-in: the same account and session, and (with keys in memory) public keys and a box-key
 * certificate that match the key pairs this tab holds. A console that swaps them here, to have
 * this browser sign grants for keys of its own, ends the session with a KeyIntegrityError.
 */
export async function refreshMe(): Promise<TMeResponse | null> {
  const me = await api.getMe();
  const current = state;
  if (current.status !== "ready" && current.status !== "locked") return me;
  try {
    if (me.user.id !== current.me.user.id || me.session.id !== current.me.session.id)
      throw new KeyIntegrityError("the console answered for another account or session");
    if (current.status === "ready") checkServedPublicKeys(me.keys, current.keys, current.me.user.id);
  } catch (error) {
    // The log-out request takes the token before the tab forgets it.
    const loggedOut = api.logout().catch(() => undefined);
    endLocally(error instanceof Error ? error.message : null);
    await loggedOut;
    throw error;
  }
  set(current.status === "ready" ? { ...current, me } : { status: "locked", me });
  return me;
}

/** Log-out: tells the console (best effort), then forgets everything in this tab. */
export async function signOut(): Promise<void> {
  if (stored) await api.logout().catch(() => undefined);
  endLocally("You have signed out.");
}
