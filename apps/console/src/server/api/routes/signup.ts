import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { invites, users, type Role } from "@veil/db";
import { VeilError, ZSignupRequestSchema, type TSignupResponse } from "@veil/protocol";
import { hashAuthKey } from "../../auth/auth-key";
import { fromB64u, INVITE_LABEL, labelledHash } from "../../auth/bytes";
import type { UserRow } from "../../auth/sessions";
import { audit } from "../../services";
import { issueSession } from "../issue-session";
import { assertKdfAcceptable } from "../kdf-policy";
import { defineRoute } from "../route";

const SIGNUP_LOCK = 0x76656931; // serialises "is this the first account?"

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code === "23505" || e?.cause?.code === "23505";
}

/**
 * POST /api/auth/signup — the first account becomes admin; later accounts need an unused,
 * unexpired invite (bound to an e-mail when the admin gave one). The server stores only what
 * the browser sends: params, salt, a hash of the auth key, public and wrapped keys.
 *
 * An e-mail that already has an account is answered exactly like a bad invite (403
 * invite_required), and a valid invite presented with it is used up: otherwise the holder of an
 * unbound invite could test e-mail after e-mail for accounts without spending it. That path
 * does no more work than a bad invite (no auth-key hash, no insert), so its timing does not
 * stand out either.
 */
export const signup = defineRoute({
  method: "POST",
  path: "/api/auth/signup",
  rate: "signup",
  auth: "public",
  body: ZSignupRequestSchema,
  bodyLimit: 32 * 1024,
  rateAccount: (b) => b.email,
  handler: async ({ body, services, ip, userAgent }) => {
    assertKdfAcceptable(body.kdf);
    const now = new Date();
    let outcome: { user: UserRow; via: string } | { burnedInvite: string };
    try {
      outcome = await services.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${SIGNUP_LOCK})`);
        const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)::int` }).from(users);
        let role: Role = "admin";
        let via = "first-account";
        if (n > 0) {
          if (!body.inviteToken) throw new VeilError("invite_required");
          // The browser picks the user id too: an id already taken is answered the same way.
          const [existing] = await tx
            .select({ id: users.id })
            .from(users)
            .where(or(eq(users.email, body.email), eq(users.id, body.userId)))
            .limit(1);
          const [invite] = await tx
            .update(invites)
            .set({ usedAt: now, usedBy: existing ? null : body.userId })
            .where(
              and(
                eq(invites.tokenHash, labelledHash(INVITE_LABEL, fromB64u(body.inviteToken))),
                isNull(invites.usedAt),
                gt(invites.expiresAt, now),
              ),
            )
            .returning();
          if (!invite || (invite.email && invite.email !== body.email))
            throw new VeilError("invite_required", { detail: "invite unknown, used, expired or for another e-mail" });
          // Committed: the invite stays used although no account is made (see above).
          if (existing) return { burnedInvite: invite.id };
          role = invite.role;
          via = `invite:${invite.id}`;
        }
        const [created] = await tx
          .insert(users)
          .values({
            id: body.userId,
            email: body.email,
            role,
            kdfParams: {
              alg: "argon2id",
              memoryKiB: body.kdf.memoryKiB,
              iterations: body.kdf.iterations,
              parallelism: body.kdf.parallelism,
            },
            kdfSalt: fromB64u(body.kdf.salt),
            authKeyHash: hashAuthKey(fromB64u(body.authKey)),
            identityPublicKey: fromB64u(body.keys.identityPublicKey),
            boxPublicKey: fromB64u(body.keys.boxPublicKey),
            boxKeyCertificate: fromB64u(body.keys.boxKeyCertificate),
            wrappedIdentityKey: fromB64u(body.keys.wrappedIdentityKey),
            wrappedBoxKey: fromB64u(body.keys.wrappedBoxKey),
            recoverySalt: body.recovery ? fromB64u(body.recovery.salt) : null,
            recoveryWrappedIdentityKey: body.recovery ? fromB64u(body.recovery.wrappedIdentityKey) : null,
            recoveryWrappedBoxKey: body.recovery ? fromB64u(body.recovery.wrappedBoxKey) : null,
            recoveryAuthKeyHash: body.recovery?.authKey ? hashAuthKey(fromB64u(body.recovery.authKey)) : null,
            idleTimeoutSeconds: services.config.session.idleDefaultSeconds,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        if (!created) throw new Error("user insert returned nothing");
        return { user: created, via };
      });
    } catch (error) {
      // Two sign-ups for one new e-mail (or id) at once: the loser is answered like a taken one.
      const refusal = isUniqueViolation(error) ? new VeilError("invite_required", { detail: "e-mail taken" }) : error;
      if (refusal instanceof VeilError) {
        await audit(services, {
          action: "account.signup",
          outcome: "failure",
          actorEmail: body.email,
          ip,
          details: { code: refusal.code, ...(isUniqueViolation(error) ? { reason: "email_taken" } : {}) },
        });
      }
      throw refusal;
    }
    if ("burnedInvite" in outcome) {
      await audit(services, {
        action: "account.signup",
        outcome: "failure",
        actorEmail: body.email,
        ip,
        details: { code: "invite_required", reason: "email_taken", inviteId: outcome.burnedInvite },
      });
      throw new VeilError("invite_required", { detail: "e-mail taken; the invite is used up" });
    }
    const { user, via } = outcome;
    const session = await issueSession(services, user, {
      ip,
      userAgent,
      action: "account.signup",
      details: { role: user.role, via, recoveryKit: Boolean(body.recovery) },
    });
    return { status: 201, body: session satisfies TSignupResponse };
  },
});
