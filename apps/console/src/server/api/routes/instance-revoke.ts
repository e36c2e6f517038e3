import { and, eq, isNull } from "drizzle-orm";
import { instances } from "@veil/db";
import { VeilError } from "@veil/protocol";
import { companionHub } from "../../instances/companion-hub";
import { findInstance } from "../../instances/instance-store";
import { deleteSnapshots } from "../../snapshots/snapshot-store";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";
import { idParam } from "./id-param";

/**
 * POST /api/instances/:id/revoke (admin, step-up): marks the instance revoked (for good), then
 * ends its companion's connection on every node and closes the browser sessions opened with it.
 * Every later enrollment, rotation or connection is refused (`instance_revoked`); its stored
 * last-known snapshots are deleted.
 */
export const revokeInstance = defineRoute({
  method: "POST",
  path: "/api/instances/:id/revoke",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  stepUp: true,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const id = idParam(ctx.params);
    const done = await ctx.services.db
      .update(instances)
      .set({ revokedAt: new Date(), online: false })
      .where(and(eq(instances.id, id), isNull(instances.revokedAt)))
      .returning({ id: instances.id, name: instances.name });
    const [row] = done;
    if (!row)
      throw new VeilError((await findInstance(ctx.services.db, id)) ? "conflict" : "not_found", {
        detail: "already revoked",
      });
    companionHub(ctx.services).revoke(id);
    // Sealed to grantees of an instance that no longer exists for anyone: nothing to keep.
    await deleteSnapshots(ctx.services.db, id);
    await audit(ctx.services, {
      action: "instance.revoke",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "instance",
      targetId: id,
      ip: ctx.ip,
      details: { name: row.name },
    });
    return { body: { ok: true } };
  },
});
