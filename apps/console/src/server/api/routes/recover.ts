import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { loginChallenges, sessions, users } from "@veil/db";
import {
  VeilError,
  ZRecoverCompleteRequestSchema,
  ZRecoverPreloginRequestSchema,
  ZRecoverStartRequestSchema,
  type TRecoverPreloginResponse,
  type TRecoverStartResponse,
  type TSessionIssued,
} from "@veil/protocol";
import { DUMMY_AUTH_KEY_HASH, hashAuthKey, verifyAuthKey } from "../../auth/auth-key";
import { b64u, CHALLENGE_LABEL, fromB64u, labelledHash, random256 } from "../../auth/bytes";
import { AccountLockedError, clearFailures, lockedUntil, recordFailure } from "../../auth/lockout";
import { audit } from "../../services";
import { issueSession } from "../issue-session";
import { assertKdfAcceptable } from "../kdf-policy";
import { defineRoute } from "../route";
import { redeemBackupCode, redeemTotp } from "./login-2fa";

/** A proven recovery kit may set a new password within this time. */
const RECOVERY_CHALLENGE_SECONDS = 600;

/**
 * POST /api/auth/recover/prelogin — the recovery kit's salt. Accounts without a kit, and
 * unknown e-mails, get a deterministic fake, so the answer reveals neither.
 */
export const recoverPrelogin = defineRoute({
  method: "POST",
  path: "/api/auth/recover/prelogin",
  rate: "login",
  auth: "public",
  body: ZRecoverPreloginRequestSchema,
  rateAccount: (b) => b.email,
  handler: async ({ body, services }) => {
    const fake = services.secrets.fakeSalt(body.email, "recovery");
    const [user] = await services.db
      .select({ salt: users.recoverySalt, hash: users.recoveryAuthKeyHash })
      .from(users)
      .where(eq(users.email, body.email));
    const salt = user?.salt && user.hash ? user.salt : fake;
    return { body: { salt: b64u(salt) } satisfies TRecoverPreloginResponse };
  },
});

/**
 * POST /api/auth/recover/start — lost password: prove the recovery code's auth key (and the
 * second factor when 2FA is on). Failures count towards the account's lock-out. Answers the
 * recovery-wrapped keys, which only the code can unwrap, and a challenge for /complete.
 */
export const recoverStart = defineRoute({
  method: "POST",
  path: "/api/auth/recover/start",
  rate: "login",
  auth: "public",
  body: ZRecoverStartRequestSchema,
  rateAccount: (b) => b.email,
  handler: async ({ body, services, ip, userAgent }) => {
    const lockKey = `email:${body.email}`;
    const locked = await lockedUntil(services.db, lockKey);
    if (locked) throw new AccountLockedError(locked);
    const [user] = await services.db.select().from(users).where(eq(users.email, body.email));
    const proven =
      verifyAuthKey(fromB64u(body.authKey), user?.recoveryAuthKeyHash ?? DUMMY_AUTH_KEY_HASH) &&
      Boolean(user?.recoveryAuthKeyHash);
    if (!user || !proven || !user.recoverySalt || !user.recoveryWrappedIdentityKey || !user.recoveryWrappedBoxKey) {
      const nowLocked = await recordFailure(services.db, lockKey, services.config.lockout);
      await audit(services, {
        action: "recovery.failure",
        outcome: "failure",
        actorUserId: user?.id ?? null,
        actorEmail: body.email,
        ip,
        details: { reason: "invalid_recovery_code", locked: nowLocked !== null },
      });
      throw new VeilError("invalid_credentials");
    }
    if (user.totpEnabledAt) {
      if (body.code === undefined && body.backupCode === undefined) throw new VeilError("two_factor_required");
      const ok =
        body.code !== undefined
          ? await redeemTotp(services, user, body.code)
          : (await redeemBackupCode(services, user.id, body.backupCode ?? "")).ok;
      if (!ok) {
        const nowLocked = await recordFailure(services.db, lockKey, services.config.lockout);
        await audit(services, {
          action: "recovery.failure",
          outcome: "failure",
          actorUserId: user.id,
          actorEmail: user.email,
          ip,
          details: { reason: "invalid_two_factor", locked: nowLocked !== null },
        });
        throw new VeilError("invalid_two_factor");
      }
    }
    await clearFailures(services.db, lockKey);
    const challenge = random256();
    const expiresAt = new Date(Date.now() + RECOVERY_CHALLENGE_SECONDS * 1000);
    await services.db.insert(loginChallenges).values({
      purpose: "recovery",
      challengeHash: labelledHash(CHALLENGE_LABEL, challenge),
      userId: user.id,
      expiresAt,
      ip,
      userAgent,
    });
    await audit(services, {
      action: "recovery.start",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      ip,
    });
    const response: TRecoverStartResponse = {
      challenge: b64u(challenge),
      expiresAt: expiresAt.toISOString(),
      userId: user.id,
      publicKeys: {
        identityPublicKey: b64u(user.identityPublicKey),
        boxPublicKey: b64u(user.boxPublicKey),
        boxKeyCertificate: b64u(user.boxKeyCertificate),
      },
      recovery: {
        salt: b64u(user.recoverySalt),
        wrappedIdentityKey: b64u(user.recoveryWrappedIdentityKey),
        wrappedBoxKey: b64u(user.recoveryWrappedBoxKey),
      },
    };
    return { body: response };
  },
});

/**
 * POST /api/auth/recover/complete — sets the new password material (keys re-wrapped in the
 * browser, so nothing is lost), replaces or removes the recovery kit, ends every session of
 * the account and signs in.
 */
export const recoverComplete = defineRoute({
  method: "POST",
  path: "/api/auth/recover/complete",
  rate: "login",
  auth: "public",
  body: ZRecoverCompleteRequestSchema,
  bodyLimit: 32 * 1024,
  rateAccount: (b) => `challenge:${b.challenge}`,
  handler: async ({ body, services, ip, userAgent }) => {
    assertKdfAcceptable(body.kdf);
    const now = new Date();
    const hash = labelledHash(CHALLENGE_LABEL, fromB64u(body.challenge));
    const result = await services.db.transaction(async (tx) => {
      const [challenge] = await tx
        .update(loginChallenges)
        .set({ usedAt: now })
        .where(
          and(
            eq(loginChallenges.challengeHash, hash),
            eq(loginChallenges.purpose, "recovery"),
            isNull(loginChallenges.usedAt),
            gt(loginChallenges.expiresAt, now),
          ),
        )
        .returning();
      if (!challenge) throw new VeilError("unauthenticated", { detail: "unknown, used or expired recovery challenge" });
      const r = body.recovery;
      const [user] = await tx
        .update(users)
        .set({
          kdfParams: {
            alg: "argon2id",
            memoryKiB: body.kdf.memoryKiB,
            iterations: body.kdf.iterations,
            parallelism: body.kdf.parallelism,
          },
          kdfSalt: fromB64u(body.kdf.salt),
          authKeyHash: hashAuthKey(fromB64u(body.authKey)),
          wrappedIdentityKey: fromB64u(body.wrappedIdentityKey),
          wrappedBoxKey: fromB64u(body.wrappedBoxKey),
          recoverySalt: r ? fromB64u(r.salt) : null,
          recoveryWrappedIdentityKey: r ? fromB64u(r.wrappedIdentityKey) : null,
          recoveryWrappedBoxKey: r ? fromB64u(r.wrappedBoxKey) : null,
          recoveryAuthKeyHash: r?.authKey ? hashAuthKey(fromB64u(r.authKey)) : null,
          keysVersion: sql`${users.keysVersion} + 1`,
          updatedAt: now,
        })
        .where(eq(users.id, challenge.userId))
        .returning();
      if (!user) throw new VeilError("unauthenticated");
      const ended = await tx
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id });
      return { user, ended };
    });
    services.endSessionSockets(
      result.ended.map((s) => s.id),
      "password_changed",
    );
    await audit(services, {
      action: "recovery.complete",
      outcome: "success",
      actorUserId: result.user.id,
      actorEmail: result.user.email,
      targetType: "user",
      targetId: result.user.id,
      ip,
      details: { sessionsEnded: result.ended.length, newRecoveryKit: body.recovery !== null },
    });
    const session = await issueSession(services, result.user, {
      ip,
      userAgent,
      action: "login.success",
      details: { via: "recovery" },
    });
    return { body: session satisfies TSessionIssued };
  },
});
