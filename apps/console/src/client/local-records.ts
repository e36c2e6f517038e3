/**
 * What this browser remembers across visits (signer pins, audit heads, snapshot sequences)
 * belongs to the account that confirmed or verified it, with the identity key it held: another
 * account signing in on the same profile (after a sign-out, or in another tab) starts from
 * nothing, so it is asked to confirm a signer itself instead of inheriting one someone else
 * confirmed, perhaps a forged one. Sign-out keeps these public records for when the same account
 * (same identity key) signs in again; a new identity key (a key reset) starts afresh.
 */
import { fingerprint, identityPublicKey, toBase64Url } from "@veil/crypto";
import { z } from "zod";
import { getState } from "./session-store";

/** Whose records these are: an account and its identity public key. */
export interface LocalOwner {
  readonly accountId: string;
  readonly identityPublicKey: Uint8Array;
}

/** The signed-in account of this tab (session store), else null. */
export function signedInOwner(): LocalOwner | null {
  const state = getState();
  return state.status === "ready"
    ? { accountId: state.me.user.id, identityPublicKey: state.keys.identity.publicKey }
    : null;
}

/** The storage scope of an owner: its account id and its identity key's fingerprint. */
export function ownerScope(owner: LocalOwner): string {
  return `${owner.accountId.toLowerCase()}.${toBase64Url(fingerprint(identityPublicKey(owner.identityPublicKey)))}`;
}

/**
 * One owner's entries of a localStorage record `{ [scope]: { [instanceId]: T } }` (public data).
 * An unreadable record, or an unreadable share of it, reads as empty.
 */
export function readOwned<T>(key: string, entry: z.ZodType<T>, owner: LocalOwner): Record<string, T> {
  const mine = z.record(z.string(), entry).safeParse(readRecord(key)[ownerScope(owner)] ?? {});
  return mine.success ? mine.data : {};
}

/** The whole record at `key`, every owner's share; empty when missing, unreadable or malformed. */
function readRecord(key: string): Record<string, unknown> {
  try {
    return z.record(z.string(), z.unknown()).safeParse(JSON.parse(localStorage.getItem(key) ?? "{}")).data ?? {};
  } catch {
    return {};
  }
}

/**
 * Replaces one owner's entries of the record at `key`, keeping the other owners'. `legacyKey`,
 * the same data from before it was kept per account, is dropped: nobody can tell which account
 * confirmed it, so it is trusted for none. Best effort: without storage nothing is kept.
 */
export function writeOwned<T>(key: string, owner: LocalOwner, entries: Record<string, T>, legacyKey?: string): void {
  try {
    localStorage.setItem(key, JSON.stringify({ ...readRecord(key), [ownerScope(owner)]: entries }));
    if (legacyKey !== undefined) localStorage.removeItem(legacyKey);
  } catch {
    // No storage: nothing is kept across visits.
  }
}
