import type { TE2EResponse } from "../protocol";

/**
 * Request ids seen, per account, until their request expires: the at-most-once guarantee.
 * A repeat of a finished request gets the recorded response again (so a browser that resends
 * after a lost reply learns the outcome without running it twice); a repeat of one still
 * running is refused. Requests live at most MAX_REQUEST_TTL_MS, which bounds the memory.
 */
export class ReplayCache {
  readonly #entries = new Map<string, { expiresAt: number; response: TE2EResponse | undefined }>();

  constructor(private readonly maxEntries = 20_000) {}

  /** Number of remembered ids (after pruning expired ones at `now`). */
  size(now: number): number {
    this.#prune(now);
    return this.#entries.size;
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  /**
   * Claims `id` for `accountId`. Returns "new" when the caller must run the request, the
   * recorded response for a finished repeat, "running" for a repeat still in flight, or "full".
   */
  claim(accountId: string, id: string, expiresAt: number, now: number): "new" | "running" | "full" | TE2EResponse {
    const key = `${accountId}:${id}`;
    const existing = this.#entries.get(key);
    if (existing !== undefined && existing.expiresAt > now) return existing.response ?? "running";
    if (this.#entries.size >= this.maxEntries) {
      this.#prune(now);
      if (this.#entries.size >= this.maxEntries) return "full";
    }
    this.#entries.set(key, { expiresAt, response: undefined });
    return "new";
  }

  /** Records the response of a claimed request. */
  complete(accountId: string, id: string, response: TE2EResponse): void {
    const entry = this.#entries.get(`${accountId}:${id}`);
    if (entry !== undefined) entry.response = response;
  }
}
