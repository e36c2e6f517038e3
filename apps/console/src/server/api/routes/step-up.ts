import { eq } from "drizzle-orm";
import { sessions } from "@veil/db";
import { VeilError, ZStepUpRequestSchema } from "@veil/protocol";
import { verifyAuthKey } from "../../auth/auth-key";
import { fromB64u } from "../../auth/bytes";
import { AccountLockedError, clearFailures, lockedUntil, recordFailure } from "../../auth/lockout";
import type { UserRow } from "../../auth/sessions";
import { audit, type ConsoleServices } from "../../services";
import { defineRoute, requireAuth } from "../route";

/**
 * Checks a fresh auth-key proof for an authenticated user; failures count towards lock-out
 * and are audited. Shared by step-up and password change.
 */
export async function proveAuthKey(
  services: ConsoleServices,
  user: UserRow,
  authKeyB64u: string,
  ip: string,
  action: string,
): Promise<void> {
  const lockKey = `email:${user.email}`;
  const locked = await lockedUntil(services.db, lockKey);
  if (locked) throw new AccountLockedError(locked);
  if (!verifyAuthKey(fromB64u(authKeyB64u), user.authKeyHash)) {
    const nowLocked = await recordFailure(services.db, lockKey, services.config.lockout);
    await audit(services, {
      action,
      outcome: "failure",
      actorUserId: user.id,
      actorEmail: user.email,
      ip,
      details: { locked: nowLocked !== null },
    });
    throw new VeilError("invalid_credentials");
  }
  await clearFailures(services.db, lockKey);
}

/** POST /api/account/step-up — re-authenticate; sensitive routes then work for a few minutes. */
export const stepUp = defineRoute({
  method: "POST",
  path: "/api/account/step-up",
  rate: "login",
  auth: "session",
  body: ZStepUpRequestSchema,
  handler: async (ctx) => {
    const { session, user } = requireAuth(ctx);
    await proveAuthKey(ctx.services, user, ctx.body.authKey, ctx.ip, "step_up");
    const now = new Date();
    await ctx.services.db.update(sessions).set({ stepUpAt: now }).where(eq(sessions.id, session.id));
    await audit(ctx.services, {
      action: "step_up",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "session",
      targetId: session.id,
      ip: ctx.ip,
    });
    return {
      body: { stepUpUntil: new Date(now.getTime() + ctx.services.config.session.stepUpSeconds * 1000).toISOString() },
    };
  },
});
