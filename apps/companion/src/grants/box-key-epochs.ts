import { z } from "zod";
import { ZIdSchema } from "../protocol";
import type { Logger } from "../log";
import type { StateStore } from "../state/state-store";

/**
 * The lowest box-key certificate epoch still accepted for each account. An account that
 * replaces its box key certifies the new one with a higher epoch; once a grant with that epoch
 * was verified here, a certificate with a lower one is a rollback to an older (perhaps
 * compromised) key and is refused, for sessions and for sealed snapshots alike.
 */
export interface EpochFloors {
  floor(accountId: string): number;
  /** Records `epoch` as the account's floor if it is higher than the one kept. */
  raise(accountId: string, epoch: number): void;
}

/** Accounts whose floor `box-key-epochs.json` keeps (each needs a grant the signer vouched for). */
export const MAX_BOX_KEY_EPOCHS = 20_000;

export const ZBoxKeyEpochsSchema = z
  .record(ZIdSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
  .refine((r) => Object.keys(r).length <= MAX_BOX_KEY_EPOCHS, "too many accounts");
export type TBoxKeyEpochs = z.infer<typeof ZBoxKeyEpochsSchema>;

/**
 * Epoch floors kept in `box-key-epochs.json` in the state folder (or only in memory without a
 * store), so a restart does not forget them: a console that waits for the companion to restart
 * and then presents an older certificate is refused as it was before. A raise is saved at once,
 * off the event loop (an atomic 0600 write); raises that come while one is being written are
 * saved together by the next write. Floors only move up. When the file holds
 * {@link MAX_BOX_KEY_EPOCHS} accounts, floors of new accounts are kept in memory only.
 */
export class BoxKeyEpochs implements EpochFloors {
  readonly #floors: Map<string, number>;
  readonly #store: StateStore | undefined;
  readonly #logger: Logger | undefined;
  #saving: Promise<void> | undefined;
  #dirty = false;
  #full = false;

  constructor(options: { store?: StateStore; logger?: Logger } = {}) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#floors = new Map(Object.entries(options.store?.loadBoxKeyEpochs() ?? {}));
  }

  floor(accountId: string): number {
    return this.#floors.get(accountId) ?? 0;
  }

  raise(accountId: string, epoch: number): void {
    const kept = this.#floors.get(accountId);
    if (kept !== undefined && kept >= epoch) return;
    if (kept === undefined && epoch <= 0) return;
    this.#floors.set(accountId, epoch);
    this.#dirty = true;
    this.#startSaving();
  }

  /** Resolves once every raise so far is on disk (or its write failed and was logged). */
  async flushed(): Promise<void> {
    while (this.#saving !== undefined) await this.#saving;
  }

  #startSaving(): void {
    const store = this.#store;
    if (store === undefined || this.#saving !== undefined || !this.#dirty) return;
    this.#dirty = false;
    this.#saving = store
      .saveBoxKeyEpochs(this.#persisted())
      .catch((error: unknown) =>
        this.#logger?.error("could not save box-key-epochs.json", {
          error: error instanceof Error ? error.name : "unknown",
        }),
      )
      .finally(() => {
        this.#saving = undefined;
        this.#startSaving();
      });
  }

  /** The floors the file keeps: the first MAX_BOX_KEY_EPOCHS accounts seen. */
  #persisted(): TBoxKeyEpochs {
    const out: TBoxKeyEpochs = {};
    let n = 0;
    for (const [accountId, epoch] of this.#floors) {
      if (n === MAX_BOX_KEY_EPOCHS) {
        if (!this.#full) this.#logger?.warn("box-key-epochs.json is full: new accounts' floors stay in memory");
        this.#full = true;
        break;
      }
      out[accountId] = epoch;
      n += 1;
    }
    return out;
  }
}
