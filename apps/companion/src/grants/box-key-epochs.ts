import { z } from "zod";
import { ZIdSchema, ZPublicKeySchema } from "../protocol";
import type { Logger } from "../log";
import type { StateStore } from "../state/state-store";

/**
 * The lowest box-key certificate epoch still accepted for an account's identity key. An account
 * that replaces its box key certifies the new one with a higher epoch; once a grant with that
 * epoch was verified here, a certificate from the same identity key with a lower one is a
 * rollback to an older (perhaps compromised) key and is refused, for sessions and for sealed
 * snapshots alike.
 *
 * Keyed by account id and identity key together: a delegated admin may sign a grant naming any
 * account id with an identity key of its own, and certify a box key under it at any epoch. Keyed
 * by the account id alone, such a grant would raise the floor of the real account's key and lock
 * it out for good; keyed with the identity key, it raises only its own.
 */
export interface EpochFloors {
  floor(accountId: string, identityPublicKey: string): number;
  /** Records `epoch` if it is higher than the floor kept; `via`: who signed the grant that showed it. */
  raise(accountId: string, identityPublicKey: string, epoch: number, via: "signer" | "delegated"): void;
}

/**
 * Floors `box-key-epochs.json` keeps from grants of the pinned signer, and from grants of
 * delegated admins (who can name made-up accounts, so they get a share of their own and cannot
 * push the signer's grantees out).
 */
export const MAX_SIGNER_EPOCHS = 10_000;
export const MAX_DELEGATED_EPOCHS = 5_000;

const ZFloorsSchema = z.record(
  z.string().regex(/^[^/]+\/[^/]+$/),
  z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
);
export const ZBoxKeyEpochsSchema = z.strictObject({
  version: z.literal(1),
  signer: ZFloorsSchema.refine((r) => Object.keys(r).length <= MAX_SIGNER_EPOCHS, "too many floors"),
  delegated: ZFloorsSchema.refine((r) => Object.keys(r).length <= MAX_DELEGATED_EPOCHS, "too many floors"),
});
export type TBoxKeyEpochs = z.infer<typeof ZBoxKeyEpochsSchema>;

/** The floors' key: `<account id>/<identity public key, base64url>`. */
function floorKey(accountId: string, identityPublicKey: string): string | undefined {
  return ZIdSchema.safeParse(accountId).success && ZPublicKeySchema.safeParse(identityPublicKey).success
    ? `${accountId}/${identityPublicKey}`
    : undefined;
}

/** How long after a failed save the next attempt runs (default). */
const RETRY_MS = 5000;
/**
 * Floors held in memory at most, per share (four times what the file keeps): raises for new keys
 * past a share's cap are dropped (logged), and delegated floors never take the signer's room.
 */
const MAX_IN_MEMORY = { signer: 4 * MAX_SIGNER_EPOCHS, delegated: 4 * MAX_DELEGATED_EPOCHS } as const;

/**
 * Epoch floors kept in `box-key-epochs.json` in the state folder (or only in memory without a
 * store), so a restart does not forget them: a console that waits for the companion to restart
 * and then presents an older certificate is refused as it was before. A raise is saved at once,
 * off the event loop (an atomic 0600 write); raises that come while one is being written are
 * saved together by the next write, and a failed write is retried. A floor is in force as soon
 * as it is raised; a crash before its write lands loses it. Floors only move up. Past a share's
 * cap, new floors are kept in memory only (and for this run).
 */
export class BoxKeyEpochs implements EpochFloors {
  readonly #floors = new Map<string, { epoch: number; via: "signer" | "delegated" }>();
  readonly #store: StateStore | undefined;
  readonly #logger: Logger | undefined;
  readonly #retryMs: number;
  #saving: Promise<void> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #closed = false;
  /** Floors per share, in memory. */
  readonly #counts = { signer: 0, delegated: 0 };
  /** Shares already reported full: on disk (kept in memory only), in memory (dropped). */
  readonly #reported = new Set<string>();

  constructor(options: { store?: StateStore; logger?: Logger; retryMs?: number } = {}) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#retryMs = options.retryMs ?? RETRY_MS;
    const saved = options.store?.loadBoxKeyEpochs();
    for (const via of ["signer", "delegated"] as const)
      for (const [key, epoch] of Object.entries(saved?.[via] ?? {})) {
        if (this.#floors.has(key)) continue;
        this.#floors.set(key, { epoch, via });
        this.#counts[via] += 1;
      }
  }

  floor(accountId: string, identityPublicKey: string): number {
    return this.#floors.get(`${accountId}/${identityPublicKey}`)?.epoch ?? 0;
  }

  raise(accountId: string, identityPublicKey: string, epoch: number, via: "signer" | "delegated"): void {
    const key = floorKey(accountId, identityPublicKey);
    if (key === undefined || epoch < 1) return;
    const kept = this.#floors.get(key);
    // A floor the pinned signer's grant showed is the signer's, whoever raises it later; one a
    // delegated grant set moves to the signer's share once the signer's grant shows it too.
    let share: "signer" | "delegated" = kept?.via === "signer" || via === "signer" ? "signer" : "delegated";
    if (kept?.via !== share && !this.#hasRoom(share)) {
      if (kept === undefined) return;
      share = kept.via;
    }
    const next = Math.max(epoch, kept?.epoch ?? 0);
    if (kept !== undefined && next === kept.epoch && share === kept.via) return;
    if (kept !== undefined) this.#counts[kept.via] -= 1;
    this.#counts[share] += 1;
    this.#floors.set(key, { epoch: next, via: share });
    this.#dirty = true;
    this.#startSaving();
  }

  /** Whether `share` may hold one more floor in memory (a full one is logged, once). */
  #hasRoom(share: "signer" | "delegated"): boolean {
    if (this.#counts[share] < MAX_IN_MEMORY[share]) return true;
    this.#report(`memory:${share}`, `box-key epoch floors: the ${share} share is full; new floors are dropped`);
    return false;
  }

  /** Resolves once every raise so far is on disk, or its write failed (logged, retried later). */
  async flushed(): Promise<void> {
    while (this.#saving !== undefined) await this.#saving;
  }

  /**
   * The companion is stopping: a save waiting to be retried is tried once more now (so `flushed`
   * waits for it), and a failure is no longer retried.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#startSaving();
  }

  #startSaving(): void {
    const store = this.#store;
    if (store === undefined || this.#saving !== undefined || this.#retry !== undefined || !this.#dirty) return;
    this.#dirty = false;
    const floors = this.#persisted();
    // Started from a resolved promise, so even a synchronous failure is caught and retried.
    this.#saving = Promise.resolve()
      .then(() => store.saveBoxKeyEpochs(floors))
      .then(
        () => undefined,
        (error: unknown) => {
          const fields = { error: error instanceof Error ? error.name : "unknown" };
          if (this.#closed) {
            this.#logger?.error(
              "could not save box-key-epochs.json while stopping: the newest floors are lost",
              fields,
            );
            return;
          }
          this.#logger?.error("could not save box-key-epochs.json; retrying", fields);
          this.#dirty = true;
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            this.#startSaving();
          }, this.#retryMs);
          this.#retry.unref?.();
        },
      )
      .finally(() => {
        this.#saving = undefined;
        this.#startSaving();
      });
  }

  /** Logs `message` once per `what`. */
  #report(what: string, message: string): void {
    if (this.#reported.has(what)) return;
    this.#reported.add(what);
    this.#logger?.warn(message);
  }

  /** What the file keeps: the first floors of each share, up to its cap. */
  #persisted(): TBoxKeyEpochs {
    const out: TBoxKeyEpochs = { version: 1, signer: {}, delegated: {} };
    const caps = { signer: MAX_SIGNER_EPOCHS, delegated: MAX_DELEGATED_EPOCHS };
    const counts = { signer: 0, delegated: 0 };
    for (const [key, { epoch, via }] of this.#floors) {
      if (counts[via] === caps[via]) {
        this.#report(
          `file:${via}`,
          `box-key-epochs.json: the ${via} share is full; new floors are kept in memory only`,
        );
        continue;
      }
      out[via][key] = epoch;
      counts[via] += 1;
    }
    return out;
  }
}
