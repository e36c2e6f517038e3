import type { RateClass, RateRule } from "../config";

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
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly rules: Readonly<Record<RateClass, RateRule>>,
    private readonly now: () => number = Date.now,
  ) {
    this.sweep = setInterval(() => this.prune(), 60_000);
    this.sweep.unref();
  }

  private hit(key: string, limit: number, windowMs: number): { count: number; resetAt: number; limit: number } {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= t) {
      w = { count: 0, resetAt: t + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, resetAt: w.resetAt, limit };
  }

  /** Counts one request of `cls` from `ip` (and `account`, when known). */
  consume(cls: RateClass, ip: string, account?: string): RateDecision {
    const rule = this.rules[cls];
    const windowMs = rule.windowSeconds * 1000;
    const byIp = this.hit(`${cls}|ip|${ip}`, rule.perIp, windowMs);
    const byAccount = account ? this.hit(`${cls}|acct|${account}`, rule.perAccount, windowMs) : undefined;
    const t = this.now();
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
