import { and, asc, eq } from "drizzle-orm";
import { instanceGrants, users } from "@veil/db";
import {
  MAX_GRANT_BUNDLE_BYTES,
  VeilError,
  ZAdminDelegationBodySchema,
  ZGrantBodySchema,
  ZGrantCreateRequestSchema,
  ZGrantRevokeRequestSchema,
  type TGrantBundle,
  type TGrantCreateRequest,
  type TGrantListResponse,
  type TGrantSummary,
} from "@veil/protocol";
import { findInstance, roleOnInstance, type GrantRow } from "../../instances/instance-store";
import { audit } from "../../services";
import { defineRoute, requireAuth, type ApiContext } from "../route";
import { idParam } from "./id-param";

function grantSummary(g: GrantRow): TGrantSummary {
  return {
    id: g.id,
    instanceId: g.instanceId,
    accountId: g.accountId,
    role: g.role,
    expiresAt: g.expiresAt.toISOString(),
    createdAt: g.createdAt.toISOString(),
    createdBy: g.createdBy,
    bundle: g.bundle as TGrantBundle,
    delegation: (g.delegation as TGrantSummary["delegation"] | null) ?? null,
  };
}

const mismatch = (path: string) =>
  new VeilError("validation_failed", { issues: [{ path, message: "does not match the signed grant" }] });

/**
 * The listing copies (account, role, expiry) must say what the signed body says, so the list an
 * admin reads is what the companion will enforce. The signature itself is the companion's to
 * check: the console stores the bundle as it came.
 */
function assertCopiesMatch(body: TGrantCreateRequest, instanceId: string): void {
  if (Buffer.byteLength(JSON.stringify(body.bundle), "utf8") > MAX_GRANT_BUNDLE_BYTES)
    throw new VeilError("payload_too_large");
  const signed = ZGrantBodySchema.safeParse(body.bundle.grant.body);
  if (!signed.success) throw mismatch("bundle.grant.body");
  if (signed.data.instanceId.toLowerCase() !== instanceId) throw mismatch("bundle.grant.body.instanceId");
  if (signed.data.accountId.toLowerCase() !== body.accountId.toLowerCase()) throw mismatch("accountId");
  if (signed.data.role !== body.role) throw mismatch("role");
  if (signed.data.expiresAt !== body.expiresAt) throw mismatch("expiresAt");
  if (body.expiresAt <= Date.now())
    throw new VeilError("validation_failed", { issues: [{ path: "expiresAt", message: "is in the past" }] });
  if (body.delegation !== undefined) assertDelegationMatches(body, instanceId, signed.data.identityPublicKey);
}

/**
 * A delegation rides only with an admin grant and must name the same instance, account and
 * identity key. Its signature is the browsers' and the companion's to check (against the
 * instance certificate's signer); this only keeps the listing honest and the row small.
 */
function assertDelegationMatches(body: TGrantCreateRequest, instanceId: string, identityPublicKey: string): void {
  if (body.role !== "admin") throw mismatch("delegation");
  const d = ZAdminDelegationBodySchema.safeParse(body.delegation?.body);
  if (!d.success) throw mismatch("delegation.body");
  if (d.data.instanceId.toLowerCase() !== instanceId) throw mismatch("delegation.body.instanceId");
  if (d.data.adminAccountId.toLowerCase() !== body.accountId.toLowerCase())
    throw mismatch("delegation.body.adminAccountId");
  if (d.data.adminIdentityPublicKey !== identityPublicKey) throw mismatch("delegation.body.adminIdentityPublicKey");
}

/** Records a grant change on an instance in the console's audit log, as the signed-in admin. */
async function auditGrant(
  ctx: ApiContext<unknown, unknown>,
  action: "instance.grant" | "instance.grant.revoke",
  instanceId: string,
  details: Record<string, unknown>,
): Promise<void> {
  const { user } = requireAuth(ctx);
  await audit(ctx.services, {
    action,
    outcome: "success",
    actorUserId: user.id,
    actorEmail: user.email,
    targetType: "instance",
    targetId: instanceId,
    ip: ctx.ip,
    details,
  });
}

/** POST /api/instances/:id/grants (admin): stores a grant the admin's browser signed (replaces the account's previous one). */
export const createGrant = defineRoute({
  method: "POST",
  path: "/api/instances/:id/grants",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  body: ZGrantCreateRequestSchema,
  bodyLimit: 16 * 1024,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const instanceId = idParam(ctx.params);
    const instance = await findInstance(ctx.services.db, instanceId);
    if (!instance) throw new VeilError("not_found");
    if (instance.revokedAt) throw new VeilError("instance_revoked");
    assertCopiesMatch(ctx.body, instanceId);
    const accountId = ctx.body.accountId.toLowerCase();
    const [account] = await ctx.services.db.select({ id: users.id }).from(users).where(eq(users.id, accountId));
    if (!account) throw new VeilError("not_found");
    const values = {
      bundle: ctx.body.bundle as unknown as Record<string, unknown>,
      delegation: (ctx.body.delegation as unknown as Record<string, unknown> | undefined) ?? null,
      role: ctx.body.role,
      expiresAt: new Date(ctx.body.expiresAt),
      createdBy: user.id,
      createdAt: new Date(),
    };
    const [row] = await ctx.services.db
      .insert(instanceGrants)
      .values({ instanceId, accountId, ...values })
      .onConflictDoUpdate({ target: [instanceGrants.instanceId, instanceGrants.accountId], set: values })
      .returning();
    if (!row) throw new Error("grant upsert returned nothing");
    await auditGrant(ctx, "instance.grant", instanceId, {
      accountId,
      role: ctx.body.role,
      expiresAt: row.expiresAt.toISOString(),
      delegated: ctx.body.delegation !== undefined,
    });
    return { status: 201, body: { grant: grantSummary(row) } };
  },
});

/**
 * POST /api/instances/:id/grants/revoke (admin, after step-up): removes an account's grant from
 * the list, so the console stops serving it. The companion's own refusal comes from the
 * `grants.revoke` request the admin's browser sends it end to end first; the console cannot
 * forge or skip that, and a console that kept the row would still be refused.
 */
export const revokeGrant = defineRoute({
  method: "POST",
  path: "/api/instances/:id/grants/revoke",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  stepUp: true,
  body: ZGrantRevokeRequestSchema,
  bodyLimit: 1024,
  handler: async (ctx) => {
    requireAuth(ctx);
    const instanceId = idParam(ctx.params);
    const accountId = ctx.body.accountId.toLowerCase();
    const removed = await ctx.services.db
      .delete(instanceGrants)
      .where(and(eq(instanceGrants.instanceId, instanceId), eq(instanceGrants.accountId, accountId)))
      .returning({ role: instanceGrants.role });
    const [row] = removed;
    if (!row) throw new VeilError("not_found");
    await auditGrant(ctx, "instance.grant.revoke", instanceId, { accountId, role: row.role });
    return { status: 200, body: { ok: true } };
  },
});

/** GET /api/instances/:id/grants: admins see every grant; a member sees only its own (to open sessions). */
export const listGrants = defineRoute({
  method: "GET",
  path: "/api/instances/:id/grants",
  rate: "apiRead",
  auth: "session",
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const instance = await findInstance(ctx.services.db, idParam(ctx.params));
    const role = instance ? await roleOnInstance(ctx.services.db, user, instance) : null;
    if (!instance || !role) throw new VeilError("not_found");
    const rows = await ctx.services.db
      .select()
      .from(instanceGrants)
      .where(eq(instanceGrants.instanceId, instance.id))
      .orderBy(asc(instanceGrants.createdAt));
    const visible = user.role === "admin" ? rows : rows.filter((g) => g.accountId === user.id);
    return { body: { grants: visible.map(grantSummary) } satisfies TGrantListResponse };
  },
});
