import { and, eq, isNull } from "drizzle-orm";
import { sessions } from "@veil/db";
import { VeilError } from "@veil/protocol";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";
import { idParam } from "./id-param";

/**
 * DELETE /api/sessions/:id — revokes one of this account's sessions, clears its tab vault share
 * and disconnects its sockets.
 */
export const revokeSession = defineRoute({
  method: "DELETE",
  path: "/api/sessions/:id",
  rate: "apiWrite",
  auth: "session",
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const id = idParam(ctx.params);
    const done = await ctx.services.db
      .update(sessions)
      .set({ revokedAt: new Date(), tabVaultShare: null })
      .where(and(eq(sessions.id, id), eq(sessions.userId, user.id), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (done.length === 0) throw new VeilError("not_found");
    ctx.services.endSessionSockets([id], "revoked");
    await audit(ctx.services, {
      action: "session.revoke",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "session",
      targetId: id,
      ip: ctx.ip,
    });
    return { body: { ok: true } };
  },
});
