import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { instanceGrants, instances } from "@veil/db";
import { VeilError, type TInstanceListResponse, type TInstanceResponse } from "@veil/protocol";
import { instanceSummary, roleOnInstance, selectListedInstances } from "../../instances/instance-store";
import { defineRoute, requireAuth } from "../route";
import { idParam } from "./id-param";

/** GET /api/instances: admins see every instance; others those they hold an unexpired grant for. */
export const listInstances = defineRoute({
  method: "GET",
  path: "/api/instances",
  rate: "apiRead",
  auth: "session",
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const db = ctx.services.db;
    if (user.role === "admin") {
      const rows = await selectListedInstances(db).orderBy(asc(instances.createdAt));
      return { body: { instances: rows.map((r) => instanceSummary(r, "admin")) } satisfies TInstanceListResponse };
    }
    const grants = await db
      .select({ instanceId: instanceGrants.instanceId, role: instanceGrants.role })
      .from(instanceGrants)
      .where(and(eq(instanceGrants.accountId, user.id), gt(instanceGrants.expiresAt, new Date())));
    if (grants.length === 0) return { body: { instances: [] } satisfies TInstanceListResponse };
    const roles = new Map(grants.map((g) => [g.instanceId, g.role]));
    const rows = await selectListedInstances(db)
      .where(inArray(instances.id, [...roles.keys()]))
      .orderBy(asc(instances.createdAt));
    return {
      body: { instances: rows.map((r) => instanceSummary(r, roles.get(r.id) ?? null)) } satisfies TInstanceListResponse,
    };
  },
});

/** GET /api/instances/:id (404 for instances the caller may not see). */
export const getInstance = defineRoute({
  method: "GET",
  path: "/api/instances/:id",
  rate: "apiRead",
  auth: "session",
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const [row] = await selectListedInstances(ctx.services.db).where(eq(instances.id, idParam(ctx.params)));
    const role = row ? await roleOnInstance(ctx.services.db, user, row) : null;
    if (!row || !role) throw new VeilError("not_found");
    return { body: { instance: instanceSummary(row, role) } satisfies TInstanceResponse };
  },
});
