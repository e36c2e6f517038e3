import type { TE2EResponse } from "../protocol";

/** A finished request whose response was not kept (too large, or a secret). */
const DONE = "done";

interface Entry {
  expiresAt: number;
  response: TE2EResponse | typeof DONE | undefined;
  /** Characters of the kept response (0 when none is kept). */
  chars: number;
}

/** Bounds of the record. */
export interface ReplayLimits {
  /** Ids remembered in all (each until its request expires). */
  readonly maxEntries: number;
  /** Ids remembered per account, so one account cannot fill the record for everyone. */
  readonly perAccount: number;
  /**
   * Ids every account may still claim when the shared `maxEntries` are taken, from a reserve of
   * `maxReserved` beyond them: accounts colluding to fill the record leave everyone else this
   * many requests in flight.
   */
  readonly reservedPerAccount: number;
  readonly maxReserved: number;
  /** Characters of kept responses in all; past it a finished request is remembered as "done" only. */
  readonly maxKeptChars: number;
  /** Expired ids are swept at most this often (a sweep walks every entry). */
  readonly sweepEveryMs: number;
}

/** A full record is swept before a claim is refused, at most this often. */
const FULL_SWEEP_MS = 100;

export const DEFAULT_REPLAY_LIMITS: ReplayLimits = {
  maxEntries: 200_000,
  perAccount: 50_000,
  reservedPerAccount: 1_000,
  maxReserved: 50_000,
  maxKeptChars: 16 * 1024 * 1024,
  sweepEveryMs: 1000,
};

/**
 * Request ids seen, per account, until their request expires: the at-most-once guarantee.
 * A repeat of a finished request gets the recorded response again when it was kept (so a
 * browser that resends after a lost reply learns the outcome without running it twice); a
 * repeat whose response was not kept is answered `duplicate`; a repeat of one still running is
 * refused. The dispatcher decides what is kept (writes and small reads, never a secret).
 *
 * Bounded: at most `maxEntries` ids (`perAccount` per account) plus a reserve of `maxReserved`
 * that only accounts holding fewer than `reservedPerAccount` may draw on once the rest is taken
 * (so four accounts filling their 50,000 each still leave every other account 1,000), and
 * `maxKeptChars` of kept responses — tens of MiB in all. Requests live at most
 * MAX_REQUEST_TTL_MS; expired ids are swept at most once per `sweepEveryMs`, so a full record
 * answers "full" cheaply instead of walking 250,000 entries per request.
 */
export class ReplayCache {
  readonly #accounts = new Map<string, Map<string, Entry>>();
  #size = 0;
  #keptChars = 0;
  #lastSweep = Number.NEGATIVE_INFINITY;
  /** The earliest expiry of the ids held (as of the last sweep and the claims since). */
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(private readonly limits: ReplayLimits = DEFAULT_REPLAY_LIMITS) {}

  /** Number of remembered ids (after sweeping expired ones at `now`). */
  size(now: number): number {
    this.#sweep(now, true);
    return this.#size;
  }

  /** Characters of responses kept for repeats. */
  get keptChars(): number {
    return this.#keptChars;
  }

  #delete(accountId: string, ids: Map<string, Entry>, id: string, entry: Entry): void {
    ids.delete(id);
    this.#size -= 1;
    this.#keptChars -= entry.chars;
    if (ids.size === 0) this.#accounts.delete(accountId);
  }

  #sweep(now: number, force = false): void {
    if (!force && now - this.#lastSweep < this.limits.sweepEveryMs) return;
    this.#lastSweep = now;
    let next = Number.POSITIVE_INFINITY;
    for (const [accountId, ids] of this.#accounts)
      for (const [id, entry] of ids)
        if (entry.expiresAt <= now) this.#delete(accountId, ids, id, entry);
        else if (entry.expiresAt < next) next = entry.expiresAt;
    this.#nextExpiry = next;
  }

  /**
   * Claims `id` for `accountId`. Returns "new" when the caller must run the request, the
   * recorded response for a finished repeat, "done" for a repeat whose answer was not kept,
   * "running" for a repeat still in flight, or "full".
   */
  claim(
    accountId: string,
    id: string,
    expiresAt: number,
    now: number,
  ): "new" | "running" | "full" | typeof DONE | TE2EResponse {
    let ids = this.#accounts.get(accountId);
    const existing = ids?.get(id);
    if (existing !== undefined && ids !== undefined) {
      if (existing.expiresAt > now) return existing.response ?? "running";
      this.#delete(accountId, ids, id, existing);
    }
    this.#sweep(now, false);
    // Full only once the ids that expired since the last sweep are gone too: a sweep is forced
    // then, when some id has expired, at most every FULL_SWEEP_MS (a sweep walks every entry; a
    // caller held at its cap must not make the companion walk them for nothing).
    if (this.#full(accountId) && now >= this.#nextExpiry && now - this.#lastSweep >= FULL_SWEEP_MS)
      this.#sweep(now, true);
    if (this.#full(accountId)) return "full";
    ids = this.#accounts.get(accountId);
    if (ids === undefined) {
      ids = new Map();
      this.#accounts.set(accountId, ids);
    }
    ids.set(id, { expiresAt, response: undefined, chars: 0 });
    this.#size += 1;
    if (expiresAt < this.#nextExpiry) this.#nextExpiry = expiresAt;
    return "new";
  }

  /** Whether `accountId` may not claim one more id now. */
  #full(accountId: string): boolean {
    const mine = this.#accounts.get(accountId)?.size ?? 0;
    const { maxEntries, perAccount, reservedPerAccount, maxReserved } = this.limits;
    return (
      mine >= perAccount ||
      this.#size >= maxEntries + maxReserved ||
      (this.#size >= maxEntries && mine >= reservedPerAccount)
    );
  }

  /**
   * Records the end of a claimed request: its response when `keepChars` (its size) is given and
   * fits the budget, else only that it ran.
   */
  complete(accountId: string, id: string, response: TE2EResponse, keepChars: number | null): void {
    const entry = this.#accounts.get(accountId)?.get(id);
    if (entry === undefined) return;
    if (keepChars !== null && this.#keptChars + keepChars <= this.limits.maxKeptChars) {
      entry.response = response;
      entry.chars = keepChars;
      this.#keptChars += keepChars;
    } else entry.response = DONE;
  }
}
