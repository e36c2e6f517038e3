import { createHash, randomUUID } from "node:crypto";
import {
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  boxPublicKey,
  constantTimeEqual,
  fromBase64Url,
  seal,
  toBase64Url,
  unseal,
  utf8,
  fromUtf8,
  wipe,
  type BoxKeyPair,
} from "../crypto";
import { ZVaultSecretSchema, type TVaultEntryMeta, type TVaultSecret, type TVaultTarget } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { VaultStore, type StoredEntry, type VaultFile } from "./vault-store";
import { z } from "zod";

/** What a sealed blob holds. */
const ZSealedPayload = z.strictObject({ secret: ZVaultSecretSchema, notes: z.string().max(4096).optional() });
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

/** Outcome of opening an entry. */
export type OpenResult =
  | { status: "ok"; meta: TVaultEntryMeta; secret: TVaultSecret; notes?: string }
  | { status: "locked" | "not_found" | "corrupt" };

const sha256hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

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
 * The credentials vault of one instance. At rest: the public key and sealed entries. Writing
 * (seal to the public key) works while locked; reading needs the private key, which only
 * `unlock` provides (from the browser, end to end) and which lives in this object's memory
 * until `lock`, the idle timer, or the process ends — a restart always starts locked.
 */
export class VaultService {
  readonly #store: VaultStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #instanceId: string;
  #file: VaultFile | undefined;
  #keyPair: BoxKeyPair | undefined;
  #idleMs = 15 * 60_000;
  #lockAt = 0;
  #timer: unknown;

  constructor(options: { stateDir: string; instanceId: string; clock: Clock; logger: Logger }) {
    this.#store = new VaultStore(options.stateDir);
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#instanceId = options.instanceId;
    this.#file = this.#store.load();
  }

  get initialized(): boolean {
    return this.#file !== undefined;
  }

  get unlocked(): boolean {
    return this.#keyPair !== undefined;
  }

  status(): {
    initialized: boolean;
    unlocked: boolean;
    entries: number;
    publicKeySha256: string | null;
    autoLockAt: number | null;
  } {
    const f = this.#file;
    return {
      initialized: f !== undefined,
      unlocked: this.unlocked,
      entries: f?.entries.length ?? 0,
      publicKeySha256: f === undefined ? null : sha256hex(fromBase64Url(f.publicKey)),
      autoLockAt: this.unlocked ? this.#lockAt : null,
    };
  }

  /** Stores the public key (made in the browser). Refuses to replace an existing vault unless asked. */
  init(publicKey: string, replace: boolean): { status: "initialized" | "exists"; publicKeySha256: string } {
    const key = boxPublicKey(fromBase64Url(publicKey));
    if (this.#file !== undefined && !replace)
      return { status: "exists", publicKeySha256: sha256hex(fromBase64Url(this.#file.publicKey)) };
    this.lock();
    this.#file = { version: 1, publicKey: toBase64Url(key), createdAt: this.#clock.now(), entries: [] };
    this.#store.save(this.#file);
    this.#logger.info("vault initialized", { replaced: replace });
    return { status: "initialized", publicKeySha256: sha256hex(key) };
  }

  /** Keeps the private key in memory if it matches the stored public key. */
  unlock(
    privateKey: string,
    idleMinutes: number,
  ): { status: "unlocked" | "wrong_key" | "not_initialized"; autoLockAt: number | null } {
    const f = this.#file;
    if (f === undefined) return { status: "not_initialized", autoLockAt: null };
    const bytes = fromBase64Url(privateKey);
    let pair: BoxKeyPair;
    try {
      pair = boxKeyPairFromPrivateKey(boxPrivateKey(bytes));
    } catch {
      return { status: "wrong_key", autoLockAt: null };
    }
    if (!constantTimeEqual(pair.publicKey, fromBase64Url(f.publicKey))) {
      wipe(bytes);
      this.#logger.warn("vault unlock refused: wrong key");
      return { status: "wrong_key", autoLockAt: null };
    }
    this.lock();
    this.#keyPair = pair;
    this.#idleMs = idleMinutes * 60_000;
    this.#touch();
    this.#logger.info("vault unlocked", { idleMinutes });
    return { status: "unlocked", autoLockAt: this.#lockAt };
  }

  /** Forgets the private key (wiping its bytes). */
  lock(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#keyPair !== undefined) {
      wipe(this.#keyPair.privateKey);
      this.#keyPair = undefined;
      this.#logger.info("vault locked");
    }
  }

  #touch(): void {
    if (this.#keyPair === undefined) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#lockAt = this.#clock.now() + this.#idleMs;
    this.#timer = this.#clock.setTimeout(() => this.lock(), this.#idleMs);
    (this.#timer as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Seals entries to the public key and writes them in one atomic file replace. Works while locked. */
  putMany(entries: readonly NewEntry[]): TVaultEntryMeta[] | undefined {
    const f = this.#file;
    if (f === undefined) return undefined;
    const recipient = boxPublicKey(fromBase64Url(f.publicKey));
    const metas: TVaultEntryMeta[] = [];
    for (const e of entries) {
      const meta: TVaultEntryMeta = {
        id: randomUUID(),
        target: e.target,
        kind: e.secret.kind,
        label: e.label,
        createdAt: this.#clock.now(),
        ...(e.certSha256 !== undefined ? { certSha256: e.certSha256 } : {}),
        state: e.state ?? "active",
        origin: e.origin,
      };
      const payload: SealedPayload = { secret: e.secret, ...(e.notes !== undefined ? { notes: e.notes } : {}) };
      const plain = utf8(JSON.stringify(payload));
      const sealed = seal(plain, { recipients: [recipient], aad: entryAad(this.#instanceId, meta) });
      wipe(plain);
      f.entries.push({ meta, sealed: toBase64Url(sealed) });
      metas.push(meta);
    }
    this.#store.save(f);
    return metas;
  }

  /** Changes entry states (pending → active, older → superseded) in one write. */
  setStates(changes: ReadonlyMap<string, TVaultEntryMeta["state"]>): void {
    const f = this.#file;
    if (f === undefined || changes.size === 0) return;
    for (const e of f.entries) {
      const s = changes.get(e.meta.id);
      if (s !== undefined) e.meta = { ...e.meta, state: s };
    }
    this.#store.save(f);
  }

  delete(id: string): boolean {
    const f = this.#file;
    if (f === undefined) return false;
    const before = f.entries.length;
    f.entries = f.entries.filter((e) => e.meta.id !== id);
    if (f.entries.length === before) return false;
    this.#store.save(f);
    return true;
  }

  list(filter: { mac?: string | undefined; offset: number; limit: number }): {
    total: number;
    entries: TVaultEntryMeta[];
  } {
    const all = (this.#file?.entries ?? [])
      .map((e) => e.meta)
      .filter((m) => filter.mac === undefined || ("mac" in m.target && m.target.mac === filter.mac));
    return { total: all.length, entries: all.slice(filter.offset, filter.offset + filter.limit) };
  }

  meta(id: string): TVaultEntryMeta | undefined {
    return this.#file?.entries.find((e) => e.meta.id === id)?.meta;
  }

  /** The newest active entry of a device, if any. */
  activeFor(mac: string): TVaultEntryMeta | undefined {
    return (this.#file?.entries ?? [])
      .filter((e) => e.meta.state === "active" && "mac" in e.meta.target && e.meta.target.mac === mac)
      .at(-1)?.meta;
  }

  /** Opens one entry: needs the unlocked vault; a tampered blob or metadata is `corrupt`. */
  open(id: string): OpenResult {
    const entry: StoredEntry | undefined = this.#file?.entries.find((e) => e.meta.id === id);
    if (entry === undefined) return { status: "not_found" };
    const pair = this.#keyPair;
    if (pair === undefined) return { status: "locked" };
    this.#touch();
    let plain: Uint8Array;
    try {
      plain = unseal(fromBase64Url(entry.sealed), { recipient: pair, aad: entryAad(this.#instanceId, entry.meta) });
    } catch {
      this.#logger.warn("vault entry failed to open", { entryId: id });
      return { status: "corrupt" };
    }
    const parsed = ZSealedPayload.safeParse(JSON.parse(fromUtf8(plain)));
    wipe(plain);
    if (!parsed.success) return { status: "corrupt" };
    return {
      status: "ok",
      meta: entry.meta,
      secret: parsed.data.secret,
      ...(parsed.data.notes !== undefined ? { notes: parsed.data.notes } : {}),
    };
  }
}
