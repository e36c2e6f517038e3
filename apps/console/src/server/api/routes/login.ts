import { eq } from "drizzle-orm";
import { loginChallenges, users } from "@veil/db";
import { VeilError, ZLoginRequestSchema, type TLoginResponse } from "@veil/protocol";
import { DUMMY_AUTH_KEY_HASH, verifyAuthKey } from "../../auth/auth-key";
import { b64u, CHALLENGE_LABEL, fromB64u, labelledHash, random256 } from "../../auth/bytes";
import { AccountLockedError, clearFailures, lockedUntil, recordFailure } from "../../auth/lockout";
import { audit } from "../../services";
import { issueSession } from "../issue-session";
import { defineRoute } from "../route";

/** How long a second-factor challenge stays valid. */
export const CHALLENGE_SECONDS = 300;

/**
 * POST /api/auth/login — constant-time check of the auth key's hash (unknown e-mails compare
 * against a dummy so both paths do the same work). With TOTP on, answers a short-lived
 * challenge for POST /api/auth/login/2fa instead of a session. Failures count towards the
 * per-account lock-out; locked accounts answer 423 whatever the key. A right key clears the
 * count only when it completes the log-in (no 2FA); with 2FA, only the second factor does.
 */
export const login = defineRoute({
  method: "POST",
  path: "/api/auth/login",
  rate: "login",
  auth: "public",
  body: ZLoginRequestSchema,
  rateAccount: (b) => b.email,
  handler: async ({ body, services, ip, userAgent }) => {
    const lockKey = `email:${body.email}`;
    const locked = await lockedUntil(services.db, lockKey);
    if (locked) {
      await audit(services, {
        action: "login.locked",
        outcome: "denied",
        actorEmail: body.email,
        ip,
        details: { until: locked.toISOString() },
      });
      throw new AccountLockedError(locked);
    }
    const [user] = await services.db.select().from(users).where(eq(users.email, body.email));
    const ok = verifyAuthKey(fromB64u(body.authKey), user?.authKeyHash ?? DUMMY_AUTH_KEY_HASH) && user !== undefined;
    if (!ok || !user) {
      const nowLocked = await recordFailure(services.db, lockKey, services.config.lockout);
      await audit(services, {
        action: "login.failure",
        outcome: "failure",
        actorUserId: user?.id ?? null,
        actorEmail: body.email,
        ip,
        details: { reason: "invalid_credentials", locked: nowLocked !== null },
      });
      throw new VeilError("invalid_credentials");
    }
    if (user.totpEnabledAt) {
      // The failure count is left as it is until the second factor succeeds: clearing it here
      // would give anyone who knows the password a fresh lock-out budget for TOTP guesses with
      // every log-in (password, 5 wrong codes, password again, ...).
      const challenge = random256();
      const expiresAt = new Date(Date.now() + CHALLENGE_SECONDS * 1000);
      await services.db
        .insert(loginChallenges)
        .values({ challengeHash: labelledHash(CHALLENGE_LABEL, challenge), userId: user.id, expiresAt, ip, userAgent });
      await audit(services, {
        action: "login.password_ok",
        outcome: "success",
        actorUserId: user.id,
        actorEmail: user.email,
        ip,
        details: { next: "two_factor" },
      });
      return {
        body: {
          status: "two_factor_required",
          challenge: b64u(challenge),
          expiresAt: expiresAt.toISOString(),
        } satisfies TLoginResponse,
      };
    }
    await clearFailures(services.db, lockKey);
    const session = await issueSession(services, user, {
      ip,
      userAgent,
      action: "login.success",
      details: { twoFactor: false },
    });
    return { body: { status: "ok", session } satisfies TLoginResponse };
  },
});
