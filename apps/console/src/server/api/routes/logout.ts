import { eq } from "drizzle-orm";
import { sessions } from "@veil/db";
import { ZEmptyBodySchema } from "@veil/protocol";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";

/**
 * POST /api/auth/logout — revokes this session, clears its tab vault share (so the halves the
 * tab left in the browser can no longer be opened) and disconnects its sockets.
 */
export const logout = defineRoute({
  method: "POST",
  path: "/api/auth/logout",
  rate: "apiWrite",
  auth: "session",
  body: ZEmptyBodySchema,
  handler: async (ctx) => {
    const { session, user } = requireAuth(ctx);
    await ctx.services.db
      .update(sessions)
      .set({ revokedAt: new Date(), tabVaultShare: null })
      .where(eq(sessions.id, session.id));
    ctx.services.endSessionSockets([session.id], "logout");
    await audit(ctx.services, {
      action: "logout",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "session",
      targetId: session.id,
      ip: ctx.ip,
    });
    return { body: { ok: true } };
  },
});
