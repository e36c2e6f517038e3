import { createHash } from "node:crypto";
import {
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  boxPublicKey,
  constantTimeEqual,
  fromBase64Url,
  toBase64Url,
  wipe,
  type BoxKeyPair,
} from "../crypto";
import type { TVaultEntryMeta, TVaultSecret } from "../protocol";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import { z } from "zod";
import { SerialWrites } from "./serial-writes";
import { openEntry, sealEntry, type NewEntry } from "./vault-entry";
import { VAULT_DAMAGED_MESSAGE, VaultRefusedError } from "./vault-refused";
import { MAX_SEALED_TOTAL_CHARS, MAX_VAULT_ENTRIES, VaultStore, type StoredEntry, type VaultFile } from "./vault-store";

export { entryAad, type NewEntry } from "./vault-entry";

/** Outcome of opening an entry. */
export type OpenResult =
  | { status: "ok"; meta: TVaultEntryMeta; secret: TVaultSecret; notes?: string }
  | { status: "locked" | "not_found" | "corrupt" };

const sha256hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * The credentials vault of one instance. At rest: the public key and sealed entries. Writing
 * (seal to the public key) works while locked; reading needs the private key, which only
 * `unlock` provides (from the browser, end to end) and which lives in this object's memory
 * until `lock`, the idle timer, or the process ends — a restart always starts locked.
 *
 * Every change is made in memory, then written off the event loop (writes one at a time,
 * coalesced; a failed write undoes its changes); the methods that change something resolve
 * once the change is on disk. A vault.json that cannot be parsed at start does not stop the
 * companion: the vault is `damaged`, every change is refused and the file is left as it is.
 */
export class VaultService {
  readonly #store: VaultStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #instanceId: string;
  readonly #writes: SerialWrites;
  #file: VaultFile | undefined;
  #damaged = false;
  #keyPair: BoxKeyPair | undefined;
  #idleMs = 15 * 60_000;
  #lockAt = 0;
  #timer: unknown;

  constructor(options: { stateDir: string; instanceId: string; clock: Clock; logger: Logger }) {
    this.#store = new VaultStore(options.stateDir);
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#instanceId = options.instanceId;
    this.#writes = new SerialWrites(() =>
      this.#file === undefined ? Promise.resolve() : this.#store.save(this.#file),
    );
    try {
      this.#file = this.#store.load();
    } catch (error) {
      // A file that cannot be parsed (bytes damaged on disk, a hand edit, or an entry an older
      // version let through) must not keep the whole companion down: only the vault is out of
      // use, and the file is kept for recovery. An unsafe file (another owner, readable by
      // others) or one that cannot be read at all still stops the start, as before: a host
      // problem, and the message says it.
      if (!(error instanceof SyntaxError || error instanceof z.ZodError)) throw error;
      this.#damaged = true;
      this.#logger.error("vault file damaged: the vault is out of use until it is restored or moved away", {
        path: this.#store.path,
        error: error instanceof Error ? error.name : "unknown",
      });
    }
  }

  /** vault.json could not be read at start: every vault request is refused. */
  get damaged(): boolean {
    return this.#damaged;
  }

  get initialized(): boolean {
    return this.#file !== undefined;
  }

  #refuseIfDamaged(): void {
    if (this.#damaged) throw new VaultRefusedError("damaged", VAULT_DAMAGED_MESSAGE);
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
  async init(
    publicKey: string,
    replace: boolean,
  ): Promise<{ status: "initialized" | "exists"; publicKeySha256: string }> {
    this.#refuseIfDamaged();
    const key = boxPublicKey(fromBase64Url(publicKey));
    if (this.#file !== undefined && !replace)
      return { status: "exists", publicKeySha256: sha256hex(fromBase64Url(this.#file.publicKey)) };
    this.lock();
    const previous = this.#file;
    const file: VaultFile = { version: 1, publicKey: toBase64Url(key), createdAt: this.#clock.now(), entries: [] };
    this.#file = file;
    await this.#writes.schedule(() => {
      if (this.#file === file) this.#file = previous;
    });
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

  /**
   * Seals entries to the public key and writes them in one atomic file replace. Works while
   * locked. All or nothing: when one entry would seal larger than the file accepts, or the file
   * would pass its most entries or sealed bytes, nothing is stored (VaultRefusedError): an
   * entry the next start could not load would put the whole vault out of use.
   */
  async putMany(entries: readonly NewEntry[]): Promise<TVaultEntryMeta[] | undefined> {
    this.#refuseIfDamaged();
    const f = this.#file;
    if (f === undefined) return undefined;
    if (f.entries.length + entries.length > MAX_VAULT_ENTRIES) throw this.#full();
    const recipient = boxPublicKey(fromBase64Url(f.publicKey));
    const added = entries.map((e) => sealEntry(this.#instanceId, recipient, e, this.#clock.now()));
    let total = 0;
    for (const e of f.entries) total += e.sealed.length;
    for (const e of added) total += e.sealed.length;
    if (total > MAX_SEALED_TOTAL_CHARS) throw this.#full();
    for (const e of added) f.entries.push(e);
    const ids = new Set(added.map((e) => e.meta.id));
    await this.#writes.schedule(() => {
      f.entries = f.entries.filter((e) => !ids.has(e.meta.id));
    });
    return added.map((e) => e.meta);
  }

  #full(): VaultRefusedError {
    return new VaultRefusedError(
      "full",
      `The vault is full (at most ${MAX_VAULT_ENTRIES.toLocaleString("en")} entries and ${MAX_SEALED_TOTAL_CHARS / 1024 / 1024} MiB of sealed data): delete entries that are no longer needed.`,
    );
  }

  /** Changes entry states (pending → active, older → superseded) in one write. */
  async setStates(changes: ReadonlyMap<string, TVaultEntryMeta["state"]>): Promise<void> {
    const f = this.#file;
    if (this.#damaged || f === undefined || changes.size === 0) return;
    const before = new Map<string, TVaultEntryMeta["state"]>();
    for (const e of f.entries) {
      const s = changes.get(e.meta.id);
      if (s === undefined) continue;
      before.set(e.meta.id, e.meta.state);
      e.meta = { ...e.meta, state: s };
    }
    await this.#writes.schedule(() => {
      for (const e of f.entries) {
        const s = before.get(e.meta.id);
        if (s !== undefined) e.meta = { ...e.meta, state: s };
      }
    });
  }

  async delete(id: string): Promise<boolean> {
    return (await this.deleteMany(new Set([id]))) > 0;
  }

  /** Removes entries in one write; how many there were. */
  async deleteMany(ids: ReadonlySet<string>): Promise<number> {
    this.#refuseIfDamaged();
    const f = this.#file;
    if (f === undefined) return 0;
    const removed: { index: number; entry: StoredEntry }[] = [];
    const kept: StoredEntry[] = [];
    f.entries.forEach((entry, index) => (ids.has(entry.meta.id) ? removed.push({ index, entry }) : kept.push(entry)));
    if (removed.length === 0) return 0;
    f.entries = kept;
    await this.#writes.schedule(() => {
      for (const r of removed) f.entries.splice(Math.min(r.index, f.entries.length), 0, r.entry);
    });
    return removed.length;
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

  /**
   * The device's current login as this companion set or learnt it: the newest active entry for
   * the MAC that adoption or generation wrote (bound to the certificate it was used with).
   * Entries put by hand carry no certificate and may hold anything (an SSH key, another
   * account), so they never stand in for it: a newer manual entry must not stop a rotation.
   */
  activeFor(mac: string): TVaultEntryMeta | undefined {
    return (this.#file?.entries ?? [])
      .filter(
        (e) =>
          e.meta.state === "active" &&
          (e.meta.origin === "adoption" || e.meta.origin === "generated") &&
          e.meta.certSha256 !== undefined &&
          "mac" in e.meta.target &&
          e.meta.target.mac === mac,
      )
      .at(-1)?.meta;
  }

  /** Opens one entry: needs the unlocked vault; a tampered blob or metadata is `corrupt`. */
  open(id: string): OpenResult {
    const entry: StoredEntry | undefined = this.#file?.entries.find((e) => e.meta.id === id);
    if (entry === undefined) return { status: "not_found" };
    const pair = this.#keyPair;
    if (pair === undefined) return { status: "locked" };
    this.#touch();
    const opened = openEntry(this.#instanceId, pair, entry);
    if (opened === undefined) {
      this.#logger.warn("vault entry failed to open", { entryId: id });
      return { status: "corrupt" };
    }
    return { status: "ok", meta: entry.meta, ...opened };
  }
}
