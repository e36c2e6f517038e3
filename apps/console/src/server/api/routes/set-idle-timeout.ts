import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { sessions, users } from "@veil/db";
import { ZIdleTimeoutRequestSchema } from "@veil/protocol";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";

/**
 * PUT /api/account/idle-timeout (step-up) — 30 min to 30 days; applies to this account's live
 * sessions too. Step-up because of that: a stolen token could otherwise keep itself, and every
 * other session of the account, alive for 30 days of inactivity. Only sessions still live now
 * change: one already past its idle deadline (`idleDeadline` in auth/sessions.ts: last activity
 * plus its idle timeout, capped by the absolute expiry) stays over, and is not revived by a
 * longer timeout, nor is its tab vault share if the clean-up has not cleared it yet.
 */
export const setIdleTimeout = defineRoute({
  method: "PUT",
  path: "/api/account/idle-timeout",
  rate: "apiWrite",
  auth: "session",
  stepUp: true,
  body: ZIdleTimeoutRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const seconds = ctx.body.seconds;
    await ctx.services.db
      .update(users)
      .set({ idleTimeoutSeconds: seconds, updatedAt: new Date() })
      .where(eq(users.id, user.id));
    const now = new Date();
    await ctx.services.db
      .update(sessions)
      .set({ idleTimeoutSeconds: seconds })
      .where(
        and(
          eq(sessions.userId, user.id),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
          // The idle deadline under the old timeout is still ahead (as prune-login-state.ts reads it).
          sql`${sessions.lastSeenAt} + ${sessions.idleTimeoutSeconds} * interval '1 second' > ${now.toISOString()}::timestamptz`,
        ),
      );
    await audit(ctx.services, {
      action: "settings.idle_timeout",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "user",
      targetId: user.id,
      ip: ctx.ip,
      details: { from: user.idleTimeoutSeconds, to: seconds },
    });
    return { body: { idleTimeoutSeconds: seconds } };
  },
});
