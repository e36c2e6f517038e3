import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { sessions, users } from "@veil/db";
import { ZPasswordChangeRequestSchema } from "@veil/protocol";
import { hashAuthKey } from "../../auth/auth-key";
import { fromB64u } from "../../auth/bytes";
import { audit } from "../../services";
import { assertKdfAcceptable } from "../kdf-policy";
import { defineRoute, requireAuth } from "../route";
import { proveAuthKey } from "./step-up";

/**
 * POST /api/account/password — the browser re-derived everything from the new password and
 * re-wrapped the same private keys, so nothing is lost; the server swaps params, salt, auth-key
 * hash and wrapped keys after a proof of the current auth key, then ends every other session.
 */
export const changePassword = defineRoute({
  method: "POST",
  path: "/api/account/password",
  rate: "login",
  auth: "session",
  body: ZPasswordChangeRequestSchema,
  bodyLimit: 32 * 1024,
  handler: async (ctx) => {
    const { session, user } = requireAuth(ctx);
    const b = ctx.body;
    await proveAuthKey(ctx.services, user, b.currentAuthKey, ctx.ip, "password.change");
    assertKdfAcceptable(b.kdf);
    const now = new Date();
    const ended = await ctx.services.db.transaction(async (tx) => {
      await tx
        .update(users)
        .set({
          kdfParams: {
            alg: "argon2id",
            memoryKiB: b.kdf.memoryKiB,
            iterations: b.kdf.iterations,
            parallelism: b.kdf.parallelism,
          },
          kdfSalt: fromB64u(b.kdf.salt),
          authKeyHash: hashAuthKey(fromB64u(b.authKey)),
          wrappedIdentityKey: fromB64u(b.wrappedIdentityKey),
          wrappedBoxKey: fromB64u(b.wrappedBoxKey),
          ...(b.recovery === undefined
            ? {}
            : b.recovery === null
              ? {
                  recoverySalt: null,
                  recoveryWrappedIdentityKey: null,
                  recoveryWrappedBoxKey: null,
                  recoveryAuthKeyHash: null,
                }
              : {
                  recoverySalt: fromB64u(b.recovery.salt),
                  recoveryWrappedIdentityKey: fromB64u(b.recovery.wrappedIdentityKey),
                  recoveryWrappedBoxKey: fromB64u(b.recovery.wrappedBoxKey),
                  recoveryAuthKeyHash: b.recovery.authKey ? hashAuthKey(fromB64u(b.recovery.authKey)) : null,
                }),
          keysVersion: sql`${users.keysVersion} + 1`,
          updatedAt: now,
        })
        .where(eq(users.id, user.id));
      return tx
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.userId, user.id), ne(sessions.id, session.id), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id });
    });
    ctx.services.endSessionSockets(
      ended.map((s) => s.id),
      "password_changed",
    );
    await audit(ctx.services, {
      action: "password.change",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "user",
      targetId: user.id,
      ip: ctx.ip,
      details: {
        sessionsEnded: ended.length,
        recovery: b.recovery === undefined ? "kept" : b.recovery === null ? "removed" : "replaced",
      },
    });
    return { body: { ok: true, sessionsEnded: ended.length } };
  },
});
