import { and, isNull, lt, or } from "drizzle-orm";
import { accountLockouts, loginChallenges, type VeilDatabase } from "@veil/db";
import type { LockoutPolicy } from "./lockout";

/** How often each node deletes log-in state that no longer means anything. */
export const LOGIN_STATE_PRUNE_MS = 10 * 60_000;

/**
 * Deletes log-in state that has stopped meaning anything, so that requests nobody can complete
 * do not grow the tables for ever: challenges past their expiry (nothing accepts them), and
 * lock-out rows whose failure window and lock have both ended. Such a row behaves exactly like
 * no row (recordFailure restarts an expired window at 1), so deleting it changes no decision;
 * most are e-mails without an account, which every failed log-in for a new e-mail adds.
 * Idempotent: every node may run it.
 */
export async function pruneLoginState(
  db: VeilDatabase,
  policy: LockoutPolicy,
  now = new Date(),
): Promise<{ challenges: number; lockouts: number }> {
  const challenges = await db
    .delete(loginChallenges)
    .where(lt(loginChallenges.expiresAt, now))
    .returning({ id: loginChallenges.id });
  const lockouts = await db
    .delete(accountLockouts)
    .where(
      and(
        lt(accountLockouts.windowStart, new Date(now.getTime() - policy.windowSeconds * 1000)),
        or(isNull(accountLockouts.lockedUntil), lt(accountLockouts.lockedUntil, now)),
      ),
    )
    .returning({ key: accountLockouts.accountKey });
  return { challenges: challenges.length, lockouts: lockouts.length };
}
