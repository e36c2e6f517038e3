import type { TVaultEntryMeta } from "../protocol";
import { boxPublicKey, fromBase64Url } from "../crypto";
import { sealEntry, type NewEntry } from "./vault-entry";
import { VaultRefusedError } from "./vault-refused";
import { MAX_SEALED_TOTAL_CHARS, MAX_VAULT_ENTRIES, type VaultFile } from "./vault-store";

/*
 * The changes the vault makes to its file, as functions from one file to the next. None of them
 * changes its input: the file they are given is what the disk holds (or a draft built on it),
 * and readers keep using it until the new one is written (vault/serial-writes.ts). A change
 * that leaves the file as it is returns the very same object, so no write is made for it.
 */

/** The refusal for a file at its most entries or sealed characters. */
export function vaultFull(): VaultRefusedError {
  return new VaultRefusedError(
    "full",
    `The vault is full (at most ${MAX_VAULT_ENTRIES.toLocaleString("en")} entries and ${MAX_SEALED_TOTAL_CHARS / 1024 / 1024} MiB of sealed data): delete entries that are no longer needed.`,
  );
}

/**
 * Seals `entries` to the file's public key and adds them. All or nothing: throws
 * VaultRefusedError (`too_large` from sealing, or `full`) when one entry or the file as a whole
 * would pass what the next start can load.
 */
export function addEntries(
  f: VaultFile,
  entries: readonly NewEntry[],
  instanceId: string,
  now: number,
): { state: VaultFile; value: TVaultEntryMeta[] } {
  if (f.entries.length + entries.length > MAX_VAULT_ENTRIES) throw vaultFull();
  // Sealed to the key of the file the entries go into: a vault replaced just before (by an
  // init queued ahead) gets entries its new key opens.
  const recipient = boxPublicKey(fromBase64Url(f.publicKey));
  const added = entries.map((e) => sealEntry(instanceId, recipient, e, now));
  let total = 0;
  for (const e of f.entries) total += e.sealed.length;
  for (const e of added) total += e.sealed.length;
  if (total > MAX_SEALED_TOTAL_CHARS) throw vaultFull();
  return { state: { ...f, entries: [...f.entries, ...added] }, value: added.map((e) => e.meta) };
}

/** The file with the named entries in their new state (entries it does not hold are ignored). */
export function setEntryStates(f: VaultFile, changes: ReadonlyMap<string, TVaultEntryMeta["state"]>): VaultFile {
  let changed = false;
  const entries = f.entries.map((e) => {
    const state = changes.get(e.meta.id);
    if (state === undefined || state === e.meta.state) return e;
    changed = true;
    return { ...e, meta: { ...e.meta, state } };
  });
  return changed ? { ...f, entries } : f;
}

/** The file without the named entries, and how many it held. */
export function removeEntries(f: VaultFile, ids: ReadonlySet<string>): { state: VaultFile; value: number } {
  const entries = f.entries.filter((e) => !ids.has(e.meta.id));
  const removed = f.entries.length - entries.length;
  return { state: removed === 0 ? f : { ...f, entries }, value: removed };
}
