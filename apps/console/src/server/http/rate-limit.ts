import type { RateClass, RateRule } from "../config";
import { rateLimitKeyForIp } from "./client-ip";

/**
 * At most this many counters in memory (about 45 MB with the longest keys). Enough for every
 * client of a large deployment; past it the oldest window is dropped (see RateLimiter).
 */
export const DEFAULT_MAX_WINDOWS = 100_000;

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetSeconds: number;
  /** Which key ran out, for the audit log ("ip" or "account"). */
  readonly exceeded?: "ip" | "account";
  /** True only for the first refused request of a window (audit once, not per request). */
  readonly firstRefusal?: boolean;
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Fixed-window counters per (class, IP) and (class, account), in memory per node. A request
 * counts against both; the tighter of the two is reported in X-RateLimit-* headers. Several
 * nodes each enforce their own window (documented in docs/OPERATIONS.md).
 *
 * IPv6 clients are counted per /64 (rateLimitKeyForIp). Account keys come from request bodies,
 * so an unauthenticated client chooses them: the IP window is checked first and a refused IP
 * creates no account window, and the map holds at most `maxWindows` counters. When it is full
 * the window that started longest ago is dropped rather than new clients refused: refusing
 * would let anyone with a block of addresses shut every new user out of log-in, while a dropped
 * window only forgets some counting that the lock-out in the database (per account, shared by
 * every node) backs up.
 */
export class RateLimiter {
  // Insertion order is window start order: a window that restarts is moved to the end.
  private readonly windows = new Map<string, Window>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly rules: Readonly<Record<RateClass, RateRule>>,
    private readonly now: () => number = Date.now,
    private readonly maxWindows: number = DEFAULT_MAX_WINDOWS,
  ) {
    this.sweep = setInterval(() => this.prune(), 60_000);
    this.sweep.unref();
  }

  /** How many counters are held (tests watch it). */
  get size(): number {
    return this.windows.size;
  }

  private hit(
    key: string,
    limit: number,
    windowMs: number,
    t: number,
  ): { count: number; resetAt: number; limit: number } {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= t) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxWindows) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      w = { count: 0, resetAt: t + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, resetAt: w.resetAt, limit };
  }

  /**
   * Counts one request of `cls` from `ip` and, when the IP is still within its limit, against
   * `account` too. A request the IP window refuses is not counted against the account: it
   * tried nothing, and counting it would let a refused client keep adding keys to the map.
   */
  consume(cls: RateClass, ip: string, account?: string): RateDecision {
    const rule = this.rules[cls];
    const windowMs = rule.windowSeconds * 1000;
    const t = this.now();
    const byIp = this.hit(`${cls}|ip|${rateLimitKeyForIp(ip)}`, rule.perIp, windowMs, t);
    const ipRefused = byIp.count > byIp.limit;
    const byAccount =
      account && !ipRefused ? this.hit(`${cls}|acct|${account}`, rule.perAccount, windowMs, t) : undefined;
    const candidates = [
      { ...byIp, kind: "ip" as const },
      ...(byAccount ? [{ ...byAccount, kind: "account" as const }] : []),
    ];
    const over = candidates.find((c) => c.count > c.limit);
    // Report the tighter window: least remaining.
    const tight = candidates.reduce((a, b) => (b.limit - b.count < a.limit - a.count ? b : a));
    const shown = over ?? tight;
    return {
      allowed: !over,
      limit: shown.limit,
      remaining: Math.max(0, shown.limit - shown.count),
      resetSeconds: Math.max(1, Math.ceil((shown.resetAt - t) / 1000)),
      ...(over ? { exceeded: over.kind, firstRefusal: over.count === over.limit + 1 } : {}),
    };
  }

  private prune(): void {
    const t = this.now();
    for (const [k, w] of this.windows) if (w.resetAt <= t) this.windows.delete(k);
  }

  close(): void {
    clearInterval(this.sweep);
  }
}
