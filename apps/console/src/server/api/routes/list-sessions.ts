import { and, desc, eq, gt, isNull } from "drizzle-orm";
import { sessions } from "@veil/db";
import type { TSessionListResponse } from "@veil/protocol";
import { idleDeadline } from "../../auth/sessions";
import { defineRoute, requireAuth } from "../route";

/** GET /api/sessions — this account's live sessions. */
export const listSessions = defineRoute({
  method: "GET",
  path: "/api/sessions",
  rate: "apiRead",
  auth: "session",
  handler: async (ctx) => {
    const { session: current, user } = requireAuth(ctx);
    const now = new Date();
    const rows = await ctx.services.db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
      .orderBy(desc(sessions.lastSeenAt));
    const body: TSessionListResponse = {
      sessions: rows
        .filter((s) => idleDeadline(s) > now)
        .map((s) => ({
          id: s.id,
          createdAt: s.createdAt.toISOString(),
          lastSeenAt: s.lastSeenAt.toISOString(),
          expiresAt: s.expiresAt.toISOString(),
          idleExpiresAt: idleDeadline(s).toISOString(),
          ip: s.ip,
          userAgent: s.userAgent,
          current: s.id === current.id,
        })),
    };
    return { body };
  },
});
