import { and, isNotNull, isNull, lt, lte, or, sql } from "drizzle-orm";
import { accountLockouts, loginChallenges, sessions, type VeilDatabase } from "@veil/db";
import type { LockoutPolicy } from "./lockout";

/** How often each node deletes log-in state that no longer means anything. */
export const LOGIN_STATE_PRUNE_MS = 10 * 60_000;

/**
 * Deletes log-in state that has stopped meaning anything, so that requests nobody can complete
 * do not grow the tables for ever: challenges past their expiry (nothing accepts them), and
 * lock-out rows whose failure window and lock have both ended. Such a row behaves exactly like
 * no row (recordFailure restarts an expired window at 1), so deleting it changes no decision;
 * most are e-mails without an account, which every failed log-in for a new e-mail adds.
 * Also clears the tab vault share of every session past its idle or absolute deadline that was
 * not used again (a use clears it at once), so the halves a closed tab left on disk never open
 * after the session. Idempotent: every node may run it.
 */
export async function pruneLoginState(
  db: VeilDatabase,
  policy: LockoutPolicy,
  now = new Date(),
): Promise<{ challenges: number; lockouts: number; shares: number }> {
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
  const shares = await db
    .update(sessions)
    .set({ tabVaultShare: null })
    .where(
      and(
        isNotNull(sessions.tabVaultShare),
        or(
          isNotNull(sessions.revokedAt),
          lte(sessions.expiresAt, now),
          sql`${sessions.lastSeenAt} + ${sessions.idleTimeoutSeconds} * interval '1 second' <= ${now.toISOString()}::timestamptz`,
        ),
      ),
    )
    .returning({ id: sessions.id });
  return { challenges: challenges.length, lockouts: lockouts.length, shares: shares.length };
}
