import type { Random } from "../clock";

/** Backoff settings: the first delay, the cap, and the factor between attempts. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
}

/** 1 s, doubling, capped at 60 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half uniform) so a fleet of companions cut off together does not come back in
 * lock-step, and no delay is ever zero.
 */
export function backoffDelay(attempt: number, random: Random, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * policy.factor ** Math.min(attempt, 32));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}
