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
    const b = this.#refill(key);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** Whether `key` has at least one token (nothing taken). */
  available(key: string): boolean {
    return this.#refill(key).tokens >= 1;
  }

  /**
   * Takes `cost` tokens for work already done (a payload's size is known only once it was
   * decompressed): the bucket may go into debt, down to minus its burst, and `available` stays
   * false until it has refilled.
   */
  charge(key: string, cost: number): void {
    const b = this.#refill(key);
    b.tokens = Math.max(-this.limit.burst, b.tokens - cost);
  }

  #refill(key: string): Bucket {
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
    return b;
  }

  /** Keys remembered. */
  get size(): number {
    return this.#buckets.size;
  }
}

/**
 * The key of one host's address, for caps on what a host holds at once (sockets, pending
 * devices): an IPv4-mapped address as the IPv4 address, anything else as itself, lower-cased.
 * Rate budgets use {@link sourceKey}, which groups an IPv6 /64: a cap on what is held, keyed by
 * /64, would make every device of an IPv6 LAN share one.
 */
export function hostKey(address: string | undefined): string {
  const a = (address ?? "unknown").toLowerCase();
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a)?.[1] ?? a;
}

/**
 * The key a source address is limited under (as the console's rateLimitKeyForIp): an IPv6
 * host usually holds a whole /64, so keying each address apart would give one host 2^64
 * budgets; IPv6 is counted by its /64, an IPv4-mapped address as the IPv4 address, anything
 * else (IPv4, "unknown") as itself.
 */
export function sourceKey(address: string | undefined): string {
  const a = address ?? "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!a.includes(":")) return a;
  const bare = a.split("%")[0] ?? a;
  const gap = bare.indexOf("::");
  const groups = (part: string): string[] => (part === "" ? [] : part.split(":"));
  const head = gap === -1 ? groups(bare) : groups(bare.slice(0, gap));
  const tail = gap === -1 ? [] : groups(bare.slice(gap + 2));
  const all = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return a;
  if (all.slice(0, 5).every((g) => Number.parseInt(g, 16) === 0) && Number.parseInt(all[5] ?? "", 16) === 0xffff) {
    const hi = Number.parseInt(all[6] ?? "0", 16);
    const lo = Number.parseInt(all[7] ?? "0", 16);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
  }
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
