/**
 * One change to a whole-file state: given the state as it stands (never changed in place), the
 * state after the change and what the caller is answered once that state is on disk. It may
 * throw to refuse (only this change is then refused). `onCommit` runs the moment the new state
 * becomes the committed one, before any other code sees it; it must not throw.
 */
export type Change<S, T> = (state: S) => { state: S; value: T; onCommit?: () => void };

interface Queued<S> {
  readonly change: Change<S, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A whole-file state that only ever holds what is on disk, and its writes, one at a time and
 * coalesced. A change does not touch the committed state: it waits in a queue. Each write takes
 * every change queued so far, applies them in order to the committed state (copy on write, so
 * readers never see a half-made state), writes the result, and only then makes it the
 * committed state and answers each change. A failed write rejects exactly the changes it
 * carried and leaves the committed state as it was; the changes queued behind it are applied to
 * that state in the next write, as if the failed ones had never been asked for. So no undo can
 * bring back or overwrite what another change did, and a change is answered "done" only when
 * the disk holds it.
 *
 * An adoption of 16 devices at once saving to the vault costs one or two writes, not 16, and
 * writes never overlap, so an older snapshot can never be renamed over a newer one.
 */
export class SerialWrites<S> {
  #committed: S;
  #queue: Queued<S>[] = [];
  #running: Promise<void> | undefined;

  constructor(
    initial: S,
    private readonly write: (state: S) => Promise<void>,
  ) {
    this.#committed = initial;
  }

  /** What the disk holds (as far as this process wrote it): the only state readers may use. */
  get committed(): S {
    return this.#committed;
  }

  /**
   * Queues `change`. Resolves with its value once a write holding it (and every change queued
   * before it) is on disk; rejects with the refusal it threw, or with the error of the write
   * that carried it (the change is then not in the committed state, and never will be).
   */
  run<T>(change: Change<S, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ change, resolve: resolve as (value: unknown) => void, reject });
      // Started on a later microtask, so changes asked for in the same turn share one write.
      this.#running ??= Promise.resolve().then(() => this.#drain());
    });
  }

  /** Resolves when every change queued so far has been answered (written, refused or failed). */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        try {
          await this.#writeBatch(batch);
        } catch (error) {
          // Only a bug gets here (a throwing onCommit). Nobody is left waiting, and the writes
          // behind keep going; a change answered already keeps its answer.
          for (const q of batch) q.reject(error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #writeBatch(batch: Queued<S>[]): Promise<void> {
    let draft = this.#committed;
    const carried: { queued: Queued<S>; value: unknown; onCommit: (() => void) | undefined }[] = [];
    for (const queued of batch) {
      try {
        const r = queued.change(draft);
        draft = r.state;
        carried.push({ queued, value: r.value, onCommit: r.onCommit });
      } catch (error) {
        queued.reject(error);
      }
    }
    if (draft !== this.#committed) {
      try {
        await this.write(draft);
      } catch (error) {
        for (const c of carried) c.queued.reject(error);
        return;
      }
      this.#committed = draft;
    }
    for (const c of carried) c.onCommit?.();
    for (const c of carried) c.queued.resolve(c.value);
  }
}
