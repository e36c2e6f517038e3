import { queryAudit, verifyAuditChain } from "@veil/db";
import { ZAuditQuerySchema, type TAuditListResponse } from "@veil/protocol";
import { b64u } from "../../auth/bytes";
import { defineRoute } from "../route";

/** GET /api/audit (admin, auditor) — newest first, filtered, keyset-paginated by seq. */
export const readAudit = defineRoute({
  method: "GET",
  path: "/api/audit",
  rate: "apiRead",
  auth: "session",
  roles: ["admin", "auditor"],
  query: ZAuditQuerySchema,
  handler: async (ctx) => {
    const q = ctx.query;
    const rows = await queryAudit(ctx.services.db, {
      limit: q.limit,
      ...(q.action ? { action: q.action } : {}),
      ...(q.actor ? { actorUserId: q.actor } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(q.from ? { from: new Date(q.from) } : {}),
      ...(q.to ? { to: new Date(q.to) } : {}),
      ...(q.before ? { beforeSeq: q.before } : {}),
    });
    const body: TAuditListResponse = {
      entries: rows.map((r) => ({
        seq: r.seq,
        at: r.at.toISOString(),
        actorUserId: r.actorUserId,
        actorEmail: r.actorEmail,
        action: r.action,
        outcome: r.outcome,
        targetType: r.targetType,
        targetId: r.targetId,
        ip: r.ip,
        details: r.details,
        hash: b64u(r.hash),
      })),
      nextBefore: rows.length === q.limit ? (rows[rows.length - 1]?.seq ?? null) : null,
    };
    return { body };
  },
});

/** GET /api/audit/verify (admin, auditor) — recomputes the hash chain from the retention anchor. */
export const verifyAudit = defineRoute({
  method: "GET",
  path: "/api/audit/verify",
  rate: "apiRead",
  auth: "session",
  roles: ["admin", "auditor"],
  handler: async (ctx) => ({ body: await verifyAuditChain(ctx.services.db) }),
});
