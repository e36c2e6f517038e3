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
import { addEntries, removeEntries, setEntryStates } from "./vault-changes";
import { openEntry, type NewEntry } from "./vault-entry";
import { VAULT_DAMAGED_MESSAGE, VaultRefusedError } from "./vault-refused";
import { VaultStore, type StoredEntry, type VaultFile } from "./vault-store";

export { entryAad, type NewEntry } from "./vault-entry";

/** Outcome of opening an entry. */
export type OpenResult =
  | { status: "ok"; meta: TVaultEntryMeta; secret: TVaultSecret; notes?: string }
  | { status: "locked" | "not_found" | "corrupt" };

/** Outcome of `init`. */
export interface InitResult {
  status: "initialized" | "exists";
  publicKeySha256: string;
}

const sha256hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * The credentials vault of one instance. At rest: the public key and sealed entries. Writing
 * (seal to the public key) works while locked; reading needs the private key, which only
 * `unlock` provides (from the browser, end to end) and which lives in this object's memory
 * until `lock`, the idle timer, or the process ends — a restart always starts locked.
 *
 * Memory holds only what the disk holds. A change waits in a queue and is applied to a copy of
 * the written file when its write starts (writes run off the event loop, one at a time,
 * coalesced); the copy replaces the file in memory once it is on disk, and the change is then
 * answered. So every reader (list, activeFor, open, status) sees written state only, a change
 * answered "done" is on disk, and a failed write leaves memory as it was, with the changes
 * queued behind it applied to that (vault/serial-writes.ts). A vault.json that cannot be parsed
 * at start does not stop the companion: the vault is `damaged`, every change is refused and the
 * file is left as it is.
 */
export class VaultService {
  readonly #store: VaultStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #instanceId: string;
  readonly #writes: SerialWrites<VaultFile | undefined>;
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
    let loaded: VaultFile | undefined;
    try {
      loaded = this.#store.load();
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
    this.#writes = new SerialWrites(loaded, (f) => (f === undefined ? Promise.resolve() : this.#store.save(f)));
  }

  /** The file as written: what every reader uses (never a change still waiting for its write). */
  get #file(): VaultFile | undefined {
    return this.#writes.committed;
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
  async init(publicKey: string, replace: boolean): Promise<InitResult> {
    this.#refuseIfDamaged();
    const key = boxPublicKey(fromBase64Url(publicKey));
    const createdAt = this.#clock.now();
    const result = await this.#writes.run<InitResult>((f) => {
      if (f !== undefined && !replace)
        return { state: f, value: { status: "exists", publicKeySha256: sha256hex(fromBase64Url(f.publicKey)) } };
      const file: VaultFile = { version: 1, publicKey: toBase64Url(key), createdAt, entries: [] };
      return {
        state: file,
        value: { status: "initialized", publicKeySha256: sha256hex(key) },
        // Locked the moment the new file is the vault: a key held until then opens the old one.
        // If the write fails the old vault stays, and so may its key.
        onCommit: () => this.lock(),
      };
    });
    if (result.status === "initialized") this.#logger.info("vault initialized", { replaced: replace });
    return result;
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
   * Seals entries to the public key and writes them in one atomic file replace; their metadata
   * once they are on disk (undefined: no vault). Works while locked. All or nothing: when one
   * entry would seal larger than the file accepts, or the file would pass its most entries or
   * sealed bytes, nothing is stored (VaultRefusedError): an entry the next start could not load
   * would put the whole vault out of use.
   */
  async putMany(entries: readonly NewEntry[]): Promise<TVaultEntryMeta[] | undefined> {
    this.#refuseIfDamaged();
    const now = this.#clock.now();
    return this.#writes.run((f) =>
      f === undefined ? { state: f, value: undefined } : addEntries(f, entries, this.#instanceId, now),
    );
  }

  /** Changes entry states (pending → active, older → superseded) in one write. */
  async setStates(changes: ReadonlyMap<string, TVaultEntryMeta["state"]>): Promise<void> {
    if (this.#damaged || changes.size === 0) return;
    const wanted = new Map(changes);
    await this.#writes.run((f) => ({
      state: f === undefined ? f : setEntryStates(f, wanted),
      value: undefined,
    }));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.deleteMany(new Set([id]))) > 0;
  }

  /** Removes entries in one write; how many there were. */
  async deleteMany(ids: ReadonlySet<string>): Promise<number> {
    this.#refuseIfDamaged();
    const wanted = new Set(ids);
    return this.#writes.run((f) => (f === undefined ? { state: f, value: 0 } : removeEntries(f, wanted)));
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
