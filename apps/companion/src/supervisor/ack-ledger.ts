/** How long the console has to acknowledge a relayed frame. */
export const ACK_TIMEOUT_MS = 10_000;
/** Frames the console may owe acknowledgements for before the connection is dropped and made anew. */
export const MAX_OWED_ACKS = 20_000;
/**
 * The acknowledgements the console owes, without a timer per frame (a timer per frame sent was a
 * measurable share of the companion's CPU per request). Frames are counted by the ledger tick
 * (ACK_TIMEOUT_MS) they were sent in; at each tick, frames of earlier ticks still owed have
 * waited at least ACK_TIMEOUT_MS.
 */
export class AckLedger {
  #tick = 0;
  readonly #owed = new Map<number, number>();
  #total = 0;

  /** Counts `frames` frames sent now under one acknowledgement; returns its settle function (idempotent). */
  owe(frames: number): () => void {
    const tick = this.#tick;
    this.#owed.set(tick, (this.#owed.get(tick) ?? 0) + frames);
    this.#total += frames;
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      const n = this.#owed.get(tick);
      if (n === undefined) return; // reset since (a new connection)
      if (n > frames) this.#owed.set(tick, n - frames);
      else this.#owed.delete(tick);
      this.#total -= frames;
    };
  }

  /** Advances one tick; returns how many frames are owed from before the tick that just ended. */
  advance(): number {
    let overdue = 0;
    for (const [tick, n] of this.#owed) if (tick < this.#tick) overdue += n;
    this.#tick += 1;
    return overdue;
  }

  get total(): number {
    return this.#total;
  }

  /** Forgets everything owed (the connection that owed it is gone). */
  reset(): void {
    this.#owed.clear();
    this.#total = 0;
  }
}
