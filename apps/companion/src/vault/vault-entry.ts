import { randomUUID } from "node:crypto";
import {
  fromBase64Url,
  fromUtf8,
  seal,
  toBase64Url,
  unseal,
  utf8,
  wipe,
  type BoxKeyPair,
  type BoxPublicKey,
} from "../crypto";
import { ZVaultStoredSecretSchema, type TVaultEntryMeta, type TVaultSecret, type TVaultTarget } from "../protocol";
import { z } from "zod";
import { VaultRefusedError } from "./vault-refused";
import { MAX_SEALED_CHARS, type StoredEntry } from "./vault-store";

/**
 * What a sealed blob holds, read as loosely as entries were ever accepted: the secret by the
 * rules before the byte bounds (a private key any text up to 16,384 characters), notes any text
 * up to 4,096 characters. The strict rules of `vault.put` only keep new blobs within the file's
 * limit; applied when reading, they would make entries earlier versions wrote open as `corrupt`.
 */
const ZSealedPayload = z.strictObject({ secret: ZVaultStoredSecretSchema, notes: z.string().max(4096).optional() });
type SealedPayload = z.infer<typeof ZSealedPayload>;

/** A new entry before sealing. */
export interface NewEntry {
  target: TVaultTarget;
  label: string;
  secret: TVaultSecret;
  notes?: string | undefined;
  certSha256?: string | undefined;
  state?: TVaultEntryMeta["state"];
  origin: TVaultEntryMeta["origin"];
}

/**
 * Associated data of an entry's sealed blob: purpose, instance, and every metadata field that
 * matters for its use (id, target, kind, certificate pin, time, origin). Editing the clear
 * metadata in vault.json (e.g. pointing an entry at another device or another pin) makes the
 * blob fail to open. `state` and `label` are not bound: state moves pending → active →
 * superseded without re-sealing (which would need the private key).
 */
export function entryAad(instanceId: string, m: TVaultEntryMeta): Uint8Array {
  const target = "mac" in m.target ? `mac:${m.target.mac}` : `group:${m.target.group}`;
  return utf8(
    ["veil/v1/vault/entry", instanceId, m.id, target, m.kind, m.certSha256 ?? "", String(m.createdAt), m.origin].join(
      "\n",
    ),
  );
}

/**
 * Seals one new entry to the vault's public key. Refuses (VaultRefusedError `too_large`) a blob
 * longer than the file accepts on load: stored, it would put the whole vault out of use at the
 * next start. The schemas keep every request within it; this holds whatever reaches here.
 */
export function sealEntry(instanceId: string, recipient: BoxPublicKey, e: NewEntry, now: number): StoredEntry {
  const meta: TVaultEntryMeta = {
    id: randomUUID(),
    target: e.target,
    kind: e.secret.kind,
    label: e.label,
    createdAt: now,
    ...(e.certSha256 !== undefined ? { certSha256: e.certSha256 } : {}),
    state: e.state ?? "active",
    origin: e.origin,
  };
  const payload: SealedPayload = { secret: e.secret, ...(e.notes !== undefined ? { notes: e.notes } : {}) };
  const plain = utf8(JSON.stringify(payload));
  const sealed = toBase64Url(seal(plain, { recipients: [recipient], aad: entryAad(instanceId, meta) }));
  wipe(plain);
  if (sealed.length > MAX_SEALED_CHARS)
    throw new VaultRefusedError("too_large", "This entry is too large to store in the vault.");
  return { meta, sealed };
}

/** Opens one stored entry with the vault's key pair; undefined when the blob or its metadata was tampered with. */
export function openEntry(
  instanceId: string,
  pair: BoxKeyPair,
  entry: StoredEntry,
): { secret: TVaultSecret; notes?: string } | undefined {
  let plain: Uint8Array;
  try {
    plain = unseal(fromBase64Url(entry.sealed), { recipient: pair, aad: entryAad(instanceId, entry.meta) });
  } catch {
    return undefined;
  }
  const parsed = ZSealedPayload.safeParse(JSON.parse(fromUtf8(plain)));
  wipe(plain);
  if (!parsed.success) return undefined;
  return { secret: parsed.data.secret, ...(parsed.data.notes !== undefined ? { notes: parsed.data.notes } : {}) };
}
