/** How long the console has to acknowledge a relayed frame. */
export const ACK_TIMEOUT_MS = 10_000;
/** Frames the console may owe acknowledgements for before the connection is dropped and made anew. */
export const MAX_OWED_ACKS = 20_000;
/**
 * Frame text (base64url characters, about the bytes on the wire) the console may owe
 * acknowledgements for before the connection is dropped and made anew: a memory ceiling.
 * socket.io keeps each batch's callback, and with it the frames, until the acknowledgement, so a
 * frame count alone let a console that stops acknowledging hold 20,000 frames of up to ~87 KiB
 * (1.7 GB). A frame counts as owed from the moment it is emitted, and engine.io-client has no
 * backpressure: a frame still waiting in this host's own send buffer counts too. So a site on a
 * slow uplink streaming a terminal (a push stream may send ~1.3 MiB/s) owes megabytes to a
 * console that acknowledges at once; a ceiling of a few MiB dropped such a connection within
 * seconds. At 64 MiB the backlog is minutes deep on a slow link, past the point where the
 * console's ping time-out (or MAX_OVERDUE_TICKS) ends the connection anyway.
 */
export const MAX_OWED_BYTES = 64 * 1024 * 1024;
/**
 * A frame still owed this many ledger ticks after the one it was sent in ends the connection.
 * The first tick after its own finds it overdue (it waited at least ACK_TIMEOUT_MS) and logs it;
 * at the second (between 2 and 3 × ACK_TIMEOUT_MS after it was sent) the console has stopped
 * acknowledging, however little it owes, and the connection is made anew.
 */
export const MAX_OVERDUE_TICKS = 2;

/** What the console owes from one ledger tick. */
interface Owed {
  frames: number;
  bytes: number;
}

/** What {@link AckLedger.advance} found at the end of a tick. */
export interface LedgerTick {
  /** Frames owed from before the tick that just ended: they have waited at least ACK_TIMEOUT_MS. */
  overdue: number;
  /** Frames sent MAX_OVERDUE_TICKS or more ticks before the one that just ended, still owed. */
  stale: number;
}

/**
 * The acknowledgements the console owes, without a timer per frame (a timer per frame sent was a
 * measurable share of the companion's CPU per request). Frames and their bytes are counted by the
 * ledger tick (ACK_TIMEOUT_MS) they were sent in; at each tick, frames of earlier ticks still owed
 * have waited at least ACK_TIMEOUT_MS.
 */
export class AckLedger {
  #tick = 0;
  readonly #owed = new Map<number, Owed>();
  #frames = 0;
  #bytes = 0;

  /**
   * Counts `frames` frames of `bytes` frame text sent now under one acknowledgement; returns its
   * settle function (idempotent).
   */
  owe(frames: number, bytes: number): () => void {
    const tick = this.#tick;
    const owed = this.#owed.get(tick);
    if (owed === undefined) this.#owed.set(tick, { frames, bytes });
    else {
      owed.frames += frames;
      owed.bytes += bytes;
    }
    this.#frames += frames;
    this.#bytes += bytes;
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      const entry = this.#owed.get(tick);
      if (entry === undefined) return; // reset since (a new connection)
      entry.frames -= frames;
      entry.bytes -= bytes;
      if (entry.frames <= 0) this.#owed.delete(tick);
      this.#frames -= frames;
      this.#bytes -= bytes;
    };
  }

  /** Advances one tick; says how many frames are owed from before the tick that just ended, and from before that. */
  advance(): LedgerTick {
    let overdue = 0;
    let stale = 0;
    for (const [tick, owed] of this.#owed) {
      if (tick < this.#tick) overdue += owed.frames;
      if (this.#tick - tick >= MAX_OVERDUE_TICKS) stale += owed.frames;
    }
    this.#tick += 1;
    return { overdue, stale };
  }

  /** Frames owed. */
  get total(): number {
    return this.#frames;
  }

  /** Frame text owed (base64url characters). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Forgets everything owed (the connection that owed it is gone). */
  reset(): void {
    this.#owed.clear();
    this.#frames = 0;
    this.#bytes = 0;
  }
}
