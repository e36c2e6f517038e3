import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { backupCodes, loginChallenges, users } from "@veil/db";
import { VeilError, ZLogin2faRequestSchema } from "@veil/protocol";
import { verifyBackupCode } from "../../auth/backup-codes";
import { CHALLENGE_LABEL, fromB64u, labelledHash } from "../../auth/bytes";
import { AccountLockedError, clearFailures, lockedUntil, recordFailure } from "../../auth/lockout";
import type { UserRow } from "../../auth/sessions";
import { checkTotp } from "../../auth/totp";
import { audit, type ConsoleServices } from "../../services";
import { issueSession } from "../issue-session";
import { defineRoute } from "../route";

const MAX_CHALLENGE_ATTEMPTS = 5;

/** Accepts a TOTP code once: the step must be newer than the last accepted one (atomic). */
export async function redeemTotp(services: ConsoleServices, user: UserRow, code: string): Promise<boolean> {
  if (!user.totpSecretEnc) return false;
  const step = checkTotp(services.secrets.openTotp(user.id, user.totpSecretEnc), code);
  if (step === null) return false;
  const won = await services.db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, user.id), lt(users.totpLastStep, step)))
    .returning({ id: users.id });
  return won.length === 1;
}

/**
 * Redeems a backup code: Argon2id-verify against the unused codes, then a conditional UPDATE
 * (used_at IS NULL) so two concurrent requests with the same code cannot both succeed.
 */
export async function redeemBackupCode(
  services: ConsoleServices,
  userId: string,
  code: string,
): Promise<{ ok: boolean; remaining: number }> {
  const unused = await services.db
    .select()
    .from(backupCodes)
    .where(and(eq(backupCodes.userId, userId), isNull(backupCodes.usedAt)));
  for (const row of unused) {
    if (await verifyBackupCode(code, row.codeHash)) {
      const won = await services.db
        .update(backupCodes)
        .set({ usedAt: new Date() })
        .where(and(eq(backupCodes.id, row.id), isNull(backupCodes.usedAt)))
        .returning({ id: backupCodes.id });
      return { ok: won.length === 1, remaining: unused.length - 1 };
    }
  }
  return { ok: false, remaining: unused.length };
}

/** The user a login challenge belongs to, whatever its state; null for an unknown challenge. */
async function challengeUser(services: ConsoleServices, challenge: string): Promise<string | null> {
  const [row] = await services.db
    .select({ userId: loginChallenges.userId })
    .from(loginChallenges)
    .where(
      and(
        eq(loginChallenges.challengeHash, labelledHash(CHALLENGE_LABEL, fromB64u(challenge))),
        eq(loginChallenges.purpose, "login"),
      ),
    );
  return row?.userId ?? null;
}

/**
 * POST /api/auth/login/2fa — second factor for a login challenge (TOTP code or backup code).
 *
 * Guesses are bounded three ways: each challenge allows MAX_CHALLENGE_ATTEMPTS, claimed by one
 * conditional UPDATE before the code is checked (parallel requests cannot share a free
 * attempt); every wrong code counts towards the account's lock-out, which only a successful
 * second factor clears (login.ts leaves it alone); and the per-account rate limit is keyed by
 * the challenge's user, so that logging in again for a new challenge brings no new budget.
 * Unknown challenges are counted per IP only: they create no per-account counter.
 */
export const login2fa = defineRoute({
  method: "POST",
  path: "/api/auth/login/2fa",
  rate: "twoFactor",
  auth: "public",
  body: ZLogin2faRequestSchema,
  // The user id, as authenticated calls of this class are keyed: one 2FA budget per user.
  rateAccount: async (b, services) => (await challengeUser(services, b.challenge)) ?? undefined,
  handler: async ({ body, services, ip, userAgent }) => {
    const now = new Date();
    const hash = labelledHash(CHALLENGE_LABEL, fromB64u(body.challenge));
    const [claimed] = await services.db
      .update(loginChallenges)
      .set({ attempts: sql`${loginChallenges.attempts} + 1` })
      .where(
        and(
          eq(loginChallenges.challengeHash, hash),
          eq(loginChallenges.purpose, "login"),
          isNull(loginChallenges.usedAt),
          gt(loginChallenges.expiresAt, now),
          lt(loginChallenges.attempts, MAX_CHALLENGE_ATTEMPTS),
        ),
      )
      .returning({ id: loginChallenges.id, userId: loginChallenges.userId });
    const [user] = claimed ? await services.db.select().from(users).where(eq(users.id, claimed.userId)) : [];
    if (!claimed || !user)
      throw new VeilError("invalid_two_factor", { detail: "unknown, used, expired or exhausted challenge" });
    const lockKey = `email:${user.email}`;
    const locked = await lockedUntil(services.db, lockKey);
    if (locked) throw new AccountLockedError(locked);

    let method: "totp" | "backup_code";
    let ok: boolean;
    let remaining: number | undefined;
    if (body.code !== undefined) {
      method = "totp";
      ok = await redeemTotp(services, user, body.code);
    } else {
      method = "backup_code";
      ({ ok, remaining } = await redeemBackupCode(services, user.id, body.backupCode ?? ""));
    }
    if (!ok) {
      const nowLocked = await recordFailure(services.db, lockKey, services.config.lockout);
      await audit(services, {
        action: "login.2fa_failure",
        outcome: "failure",
        actorUserId: user.id,
        actorEmail: user.email,
        ip,
        details: { method, locked: nowLocked !== null },
      });
      throw new VeilError("invalid_two_factor");
    }
    const used = await services.db
      .update(loginChallenges)
      .set({ usedAt: now })
      .where(and(eq(loginChallenges.id, claimed.id), isNull(loginChallenges.usedAt)))
      .returning({ id: loginChallenges.id });
    if (used.length !== 1) throw new VeilError("invalid_two_factor", { detail: "challenge redeemed concurrently" });
    await clearFailures(services.db, lockKey);
    if (method === "backup_code") {
      await audit(services, {
        action: "2fa.backup_code_used",
        outcome: "success",
        actorUserId: user.id,
        actorEmail: user.email,
        ip,
        details: { remaining },
      });
    }
    const session = await issueSession(services, user, {
      ip,
      userAgent,
      action: "login.success",
      details: { twoFactor: method },
    });
    return { body: { status: "ok", session } };
  },
});
