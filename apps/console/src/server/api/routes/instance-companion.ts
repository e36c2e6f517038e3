import { eq } from "drizzle-orm";
import { appendAudit, instances } from "@veil/db";
import {
  COMPANION_API_PREFIX,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  VeilError,
  ZEnrollRequestSchema,
  ZRotateRequestSchema,
  type TEnrollResponse,
  type TInstanceKdfResponse,
  type TRotateResponse,
} from "@veil/protocol";
import { b64u, fromB64u } from "../../auth/bytes";
import { authenticatedInstance, countFailedInstanceAuth } from "../../instances/instance-auth";
import { certificateWire, findInstance, instanceKdfWire } from "../../instances/instance-store";
import { audit } from "../../services";
import { assertKdfAcceptable, DEFAULT_KDF } from "../kdf-policy";
import { defineRoute, type ApiContext } from "../route";
import { idParam } from "./id-param";

/**
 * The companion-facing endpoints (docs/PROTOCOL-COMPANION.md §2). Unauthenticated guessing
 * targets: every failure counts against its IP and its instance with the "login" class's limits
 * and is audited, and a right key is never refused for what others at its address or naming its
 * instance spent. The pipeline meters every request as plain API traffic ("apiRead" for `kdf`,
 * "apiWrite" for `enroll` and `rotate`). A 256-bit token makes guessing hopeless; the limits stop
 * the noise.
 */

/** Refuses a failed attempt: audited, or `rate_limited` (not audited) once its IP's or instance's failure budget is spent. */
async function refuse<B, Q>(ctx: ApiContext<B, Q>, action: string, instanceId: string, reason: string): Promise<never> {
  const { services, ip } = ctx;
  const byIp = services.limiter.consume("login", ip);
  const byInstance = countFailedInstanceAuth(services.limiter, instanceId);
  const spent = [byIp, byInstance].find((d) => !d.allowed);
  if (spent) {
    ctx.res.setHeader("Retry-After", String(spent.resetSeconds));
    throw new VeilError("rate_limited");
  }
  await audit(services, {
    action,
    outcome: "failure",
    targetType: "instance",
    targetId: instanceId,
    ip,
    details: { reason },
  });
  throw new VeilError("unauthenticated");
}

/** GET …/instances/:id/kdf — unknown instances get believable deterministic fake params (no existence oracle). */
export const companionKdf = defineRoute({
  method: "GET",
  path: `${COMPANION_API_PREFIX}/instances/:id/kdf`,
  rate: "apiRead",
  auth: "public",
  handler: async (ctx) => {
    const instanceId = idParam(ctx.params);
    const row = await findInstance(ctx.services.db, instanceId);
    const kdf = row
      ? instanceKdfWire(row)
      : {
          alg: "argon2id" as const,
          ...DEFAULT_KDF,
          salt: b64u(ctx.services.secrets.fakeSalt(`instance:${instanceId}`)),
        };
    return { body: { kdf } satisfies TInstanceKdfResponse };
  },
});

/** POST …/instances/:id/enroll — the token's auth key buys the wrapped keys and the certificate. */
export const companionEnroll = defineRoute({
  method: "POST",
  path: `${COMPANION_API_PREFIX}/instances/:id/enroll`,
  rate: "apiWrite",
  auth: "public",
  body: ZEnrollRequestSchema,
  handler: async (ctx) => {
    const instanceId = idParam(ctx.params);
    if (ctx.body.protocolVersion < MIN_PROTOCOL_VERSION || ctx.body.protocolVersion > PROTOCOL_VERSION)
      throw new VeilError("protocol_version_unsupported");
    const row = authenticatedInstance(await findInstance(ctx.services.db, instanceId), ctx.body.authKey);
    if (!row) return refuse(ctx, "companion.enroll", instanceId, "wrong_auth_key");
    if (row.revokedAt) return refuse(ctx, "companion.enroll", instanceId, "revoked");
    await ctx.services.db
      .update(instances)
      .set({ enrolledAt: new Date(), companionVersion: ctx.body.companionVersion })
      .where(eq(instances.id, instanceId));
    await audit(ctx.services, {
      action: "companion.enroll",
      outcome: "success",
      targetType: "instance",
      targetId: instanceId,
      ip: ctx.ip,
      details: { companionVersion: ctx.body.companionVersion },
    });
    return {
      body: {
        wrappedIdentityPrivateKey: b64u(row.wrappedIdentityKey),
        wrappedBoxPrivateKey: b64u(row.wrappedBoxKey),
        certificate: certificateWire(row),
      } satisfies TEnrollResponse,
    };
  },
});

/**
 * POST …/instances/:id/rotate — replaces KDF params, auth-key hash and both wrapped keys in one
 * transaction (row locked, current key checked inside it, so two racing rotations cannot both
 * win). The live companion socket is left alone: the rotation's answer travels back over it.
 *
 * The success record is appended inside that transaction, unlike the routes that audit after
 * their commit: the companion acts on the answer (a 200 promotes the new key, a 5xx keeps both),
 * so a failure to audit must roll the swap back rather than answer 500 for a committed rotation.
 * An action that cannot be audited still does not succeed. (Lock order: instance row, then the
 * audit head, which appendAudit alone ever takes otherwise.)
 */
export const companionRotate = defineRoute({
  method: "POST",
  path: `${COMPANION_API_PREFIX}/instances/:id/rotate`,
  rate: "apiWrite",
  auth: "public",
  body: ZRotateRequestSchema,
  handler: async (ctx) => {
    const instanceId = idParam(ctx.params);
    const { next } = ctx.body;
    const outcome = await ctx.services.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(instances).where(eq(instances.id, instanceId)).for("update");
      const row = authenticatedInstance(locked, ctx.body.authKey);
      if (!row) return "wrong_auth_key" as const;
      if (row.revokedAt) return "revoked" as const;
      assertKdfAcceptable(next.kdf);
      await tx
        .update(instances)
        .set({
          kdfParams: {
            alg: "argon2id",
            memoryKiB: next.kdf.memoryKiB,
            iterations: next.kdf.iterations,
            parallelism: next.kdf.parallelism,
          },
          kdfSalt: fromB64u(next.kdf.salt),
          authKeyHash: fromB64u(next.authKeyHash),
          wrappedIdentityKey: fromB64u(next.wrappedIdentityPrivateKey),
          wrappedBoxKey: fromB64u(next.wrappedBoxPrivateKey),
          rotatedAt: new Date(),
          tokenVersion: row.tokenVersion + 1,
        })
        .where(eq(instances.id, instanceId));
      try {
        await appendAudit(tx, {
          action: "companion.rotate",
          outcome: "success",
          targetType: "instance",
          targetId: instanceId,
          ip: ctx.ip,
        });
      } catch (error) {
        ctx.services.log(
          `audit append failed for companion.rotate (rotation rolled back): ${error instanceof Error ? error.message : String(error)}`,
        );
        throw error;
      }
      return "ok" as const;
    });
    if (outcome !== "ok") return refuse(ctx, "companion.rotate", instanceId, outcome);
    return { body: { ok: true } satisfies TRotateResponse };
  },
});
