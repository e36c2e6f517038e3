/** One write waiting to start, shared by every change made before it starts. */
interface Batch {
  readonly undo: (() => void)[];
  readonly done: Promise<void>;
}

/**
 * Writes of one whole-file state, one at a time and coalesced: a change made in memory asks for
 * a write, and every change made before that write starts shares it (an adoption of 16 devices
 * at once saving to the vault costs one or two writes, not 16). Writes never overlap, so an
 * older snapshot can never be renamed over a newer one. When a write fails, the changes it
 * carried are undone in memory (newest first), so memory never claims what the disk does not
 * hold and the next write does not carry them either.
 */
export class SerialWrites {
  #tail: Promise<void> = Promise.resolve();
  #next: Batch | undefined;

  /** `write` must take its snapshot synchronously, before its first await. */
  constructor(private readonly write: () => Promise<void>) {}

  /**
   * Resolves once a write that includes every change made so far is on disk; `undo` reverts
   * this caller's change if that write fails (the promise then rejects with its error).
   */
  schedule(undo: () => void): Promise<void> {
    let batch = this.#next;
    if (batch === undefined) {
      const fresh: Batch = {
        undo: [],
        done: this.#tail.then(async () => {
          // From here on, changes wait for the next write: this one's snapshot is taken now.
          if (this.#next === fresh) this.#next = undefined;
          try {
            await this.write();
          } catch (error) {
            for (const u of fresh.undo.reverse()) u();
            throw error;
          }
        }),
      };
      this.#tail = fresh.done.catch(() => undefined);
      this.#next = fresh;
      batch = fresh;
    }
    batch.undo.push(undo);
    return batch.done;
  }

  /** Resolves when every write asked for so far has ended (written or failed). */
  idle(): Promise<void> {
    return this.#tail;
  }
}
