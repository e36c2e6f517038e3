/**
 * Token buckets for flood limits: one per key (source IP, device MAC), kept in a bounded map
 * (least recently used evicted), so a flood of new keys cannot grow memory without bound and
 * one noisy key never spends another key's tokens.
 */

/** Rate and burst of one bucket. */
export interface BucketLimit {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Bucket size: the largest burst. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Keyed token buckets with a cap on the number of keys remembered. */
export class KeyedTokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: BucketLimit,
    private readonly now: () => number,
    private readonly maxKeys = 50_000,
  ) {
    if (!(limit.ratePerSec > 0) || !(limit.burst >= 1))
      throw new RangeError("bucket limit must have a positive rate and a burst of at least 1");
  }

  /** Takes `cost` tokens for `key`; false (and nothing taken) when the bucket is short. */
  take(key: string, cost = 1): boolean {
    const now = this.now();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.limit.burst, at: now };
    } else {
      this.#buckets.delete(key); // re-insert: most recently used last
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.ratePerSec);
      b.at = now;
    }
    this.#buckets.set(key, b);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** Keys remembered. */
  get size(): number {
    return this.#buckets.size;
  }
}
