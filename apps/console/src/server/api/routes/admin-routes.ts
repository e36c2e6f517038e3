import { and, asc, eq, ne, sql } from "drizzle-orm";
import { invites, users } from "@veil/db";
import {
  VeilError,
  ZInviteCreateRequestSchema,
  ZRoleChangeRequestSchema,
  type TInviteCreateResponse,
  type TUserListResponse,
} from "@veil/protocol";
import { b64u, INVITE_LABEL, labelledHash, random256 } from "../../auth/bytes";
import { audit } from "../../services";
import { userSummary } from "../present";
import { defineRoute, requireAuth } from "../route";
import { idParam } from "./id-param";

const INVITE_DAYS = 7;

/** GET /api/users (admin) */
export const listUsers = defineRoute({
  method: "GET",
  path: "/api/users",
  rate: "apiRead",
  auth: "session",
  roles: ["admin"],
  handler: async (ctx) => {
    const rows = await ctx.services.db.select().from(users).orderBy(asc(users.createdAt));
    return { body: { users: rows.map(userSummary) } satisfies TUserListResponse };
  },
});

/** POST /api/invites (admin, step-up) — a one-time sign-up token for a role (and optionally an e-mail). */
export const createInvite = defineRoute({
  method: "POST",
  path: "/api/invites",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  stepUp: true,
  body: ZInviteCreateRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const token = random256();
    const expiresAt = new Date(Date.now() + INVITE_DAYS * 86_400_000);
    const [invite] = await ctx.services.db
      .insert(invites)
      .values({
        tokenHash: labelledHash(INVITE_LABEL, token),
        email: ctx.body.email ?? null,
        role: ctx.body.role,
        createdBy: user.id,
        expiresAt,
      })
      .returning({ id: invites.id });
    if (!invite) throw new Error("invite insert returned nothing");
    await audit(ctx.services, {
      action: "invite.create",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "invite",
      targetId: invite.id,
      ip: ctx.ip,
      details: { role: ctx.body.role, email: ctx.body.email ?? null },
    });
    return {
      status: 201,
      body: {
        inviteId: invite.id,
        token: b64u(token),
        expiresAt: expiresAt.toISOString(),
      } satisfies TInviteCreateResponse,
    };
  },
});

/** PUT /api/users/:id/role (admin, step-up) — never leaves the console without an admin. */
export const changeRole = defineRoute({
  method: "PUT",
  path: "/api/users/:id/role",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  stepUp: true,
  body: ZRoleChangeRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const targetId = idParam(ctx.params);
    const role = ctx.body.role;
    const result = await ctx.services.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${0x76656932})`);
      const [target] = await tx.select().from(users).where(eq(users.id, targetId));
      if (!target) throw new VeilError("not_found");
      if (target.role === "admin" && role !== "admin") {
        const [{ n } = { n: 0 }] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(users)
          .where(and(eq(users.role, "admin"), ne(users.id, targetId)));
        if (n === 0) throw new VeilError("conflict", { detail: "last admin" });
      }
      await tx.update(users).set({ role, updatedAt: new Date() }).where(eq(users.id, targetId));
      return { from: target.role, email: target.email };
    });
    await audit(ctx.services, {
      action: "role.change",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "user",
      targetId,
      ip: ctx.ip,
      details: { from: result.from, to: role, email: result.email },
    });
    return { body: { id: targetId, role } };
  },
});
