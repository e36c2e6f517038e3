import { eq, sql } from "drizzle-orm";
import { accountLockouts, type VeilDatabase } from "@veil/db";
import { VeilError } from "@veil/protocol";

export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly windowSeconds: number;
  readonly lockSeconds: number;
}

/** When the account key is locked, the time it unlocks; otherwise null. */
export async function lockedUntil(db: VeilDatabase, accountKey: string, now = new Date()): Promise<Date | null> {
  const [row] = await db
    .select({ lockedUntil: accountLockouts.lockedUntil })
    .from(accountLockouts)
    .where(eq(accountLockouts.accountKey, accountKey));
  return row?.lockedUntil && row.lockedUntil > now ? row.lockedUntil : null;
}

/**
 * Counts one failed proof (password, 2FA code, step-up) against the account key in a single
 * atomic upsert; the window restarts when it has expired. Locks when the count reaches the
 * policy's maximum. Returns the lock's end when this failure locked the account.
 */
export async function recordFailure(
  db: VeilDatabase,
  accountKey: string,
  policy: LockoutPolicy,
  now = new Date(),
): Promise<Date | null> {
  // postgres.js (through drizzle) does not serialise Date inside raw sql: pass ISO text + cast.
  const windowStart = sql`${new Date(now.getTime() - policy.windowSeconds * 1000).toISOString()}::timestamptz`;
  const nowSql = sql`${now.toISOString()}::timestamptz`;
  const [row] = await db
    .insert(accountLockouts)
    .values({ accountKey, failures: 1, windowStart: now })
    .onConflictDoUpdate({
      target: accountLockouts.accountKey,
      set: {
        failures: sql`case when ${accountLockouts.windowStart} < ${windowStart} then 1 else ${accountLockouts.failures} + 1 end`,
        windowStart: sql`case when ${accountLockouts.windowStart} < ${windowStart} then ${nowSql} else ${accountLockouts.windowStart} end`,
      },
    })
    .returning({ failures: accountLockouts.failures });
  if (row && row.failures >= policy.maxFailures) {
    const until = new Date(now.getTime() + policy.lockSeconds * 1000);
    await db
      .update(accountLockouts)
      .set({ lockedUntil: until, failures: 0, windowStart: now })
      .where(eq(accountLockouts.accountKey, accountKey));
    return until;
  }
  return null;
}

/** A successful proof clears the failure count (an active lock stays until it ends). */
export async function clearFailures(db: VeilDatabase, accountKey: string): Promise<void> {
  await db.update(accountLockouts).set({ failures: 0 }).where(eq(accountLockouts.accountKey, accountKey));
}

/** 423 account_locked that carries its Retry-After. */
export class AccountLockedError extends VeilError {
  readonly retryAfterSeconds: number;
  constructor(until: Date) {
    super("account_locked", { detail: `locked until ${until.toISOString()}` });
    this.retryAfterSeconds = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
  }
}
