import { DUMMY_AUTH_KEY_HASH, verifyAuthKey } from "../auth/auth-key";
import { fromB64u } from "../auth/bytes";
import type { RateDecision, RateLimiter } from "../http/rate-limit";
import type { InstanceRow } from "./instance-store";

/** The row when `authKey` is this instance's current auth key (constant-time, a dummy for unknown ids), else null. */
export function authenticatedInstance(row: InstanceRow | undefined, authKey: string): InstanceRow | null {
  const ok = verifyAuthKey(fromB64u(authKey), row?.authKeyHash ?? DUMMY_AUTH_KEY_HASH);
  return ok && row ? row : null;
}

/**
 * Counts one failed authentication against an instance (the companion socket, enroll, rotate),
 * with the per-account limit of the "login" class; the caller refuses with `rate_limited` when
 * it is not allowed. Only failures count, and only after the key was checked: anyone who knows
 * an instance id could otherwise spend its budget and keep the real companion, holding the
 * right key, from connecting or rotating its token. (Each attempt also counts against its IP.)
 */
export function countFailedInstanceAuth(limiter: RateLimiter, instanceId: string): RateDecision {
  const key = `instance:${instanceId}`;
  return limiter.consume("login", key, key);
}
