import { eq } from "drizzle-orm";
import { instances } from "@veil/db";
import { identityPublicKey, verifyStatement, type SignedStatement } from "@veil/crypto";
import {
  INSTANCE_CERTIFICATE_DOMAIN,
  VeilError,
  ZInstanceCertificateBodySchema,
  ZInstanceCreateRequestSchema,
  type TInstanceCreateRequest,
  type TInstanceResponse,
} from "@veil/protocol";
import { hashAuthKey } from "../../auth/auth-key";
import { b64u, fromB64u } from "../../auth/bytes";
import { instanceSummary } from "../../instances/instance-store";
import { audit } from "../../services";
import { assertKdfAcceptable } from "../kdf-policy";
import { defineRoute, requireAuth } from "../route";

/**
 * Sanity checks on what the admin's browser made, so a buggy client cannot store an instance its
 * companion would refuse: the certificate is signed by the caller's own identity key and
 * certifies exactly this id, name and these public keys. (The companion and browsers verify it
 * again themselves: the console is not trusted with it.)
 */
function assertCertificateMatches(body: TInstanceCreateRequest, callerIdentityKey: Uint8Array): void {
  if (body.certificate.signerPublicKey !== b64u(callerIdentityKey))
    throw new VeilError("validation_failed", {
      issues: [{ path: "certificate.signerPublicKey", message: "must be your identity public key" }],
    });
  let signed: unknown;
  try {
    signed = verifyStatement(
      body.certificate.statement as SignedStatement,
      INSTANCE_CERTIFICATE_DOMAIN,
      identityPublicKey(callerIdentityKey),
    );
  } catch {
    throw new VeilError("validation_failed", {
      issues: [{ path: "certificate.statement", message: "signature does not verify" }],
    });
  }
  const cert = ZInstanceCertificateBodySchema.safeParse(signed);
  const ok =
    cert.success &&
    cert.data.instanceId.toLowerCase() === body.instanceId.toLowerCase() &&
    cert.data.name === body.name &&
    cert.data.identityPublicKey === body.identityPublicKey &&
    cert.data.boxPublicKey === body.boxPublicKey;
  if (!ok)
    throw new VeilError("validation_failed", {
      issues: [
        { path: "certificate.statement.body", message: "does not certify this instance's id, name and public keys" },
      ],
    });
}

/** POST /api/instances (admin): stores what the browser made; the token never reaches the console. */
export const createInstance = defineRoute({
  method: "POST",
  path: "/api/instances",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  body: ZInstanceCreateRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const body = ctx.body;
    assertKdfAcceptable(body.kdf);
    assertCertificateMatches(body, user.identityPublicKey);
    const id = body.instanceId.toLowerCase();
    const [existing] = await ctx.services.db.select({ id: instances.id }).from(instances).where(eq(instances.id, id));
    if (existing) throw new VeilError("conflict", { detail: "instance id taken" });
    const [row] = await ctx.services.db
      .insert(instances)
      .values({
        id,
        name: body.name,
        adminUserId: user.id,
        kdfParams: {
          alg: "argon2id",
          memoryKiB: body.kdf.memoryKiB,
          iterations: body.kdf.iterations,
          parallelism: body.kdf.parallelism,
        },
        kdfSalt: fromB64u(body.kdf.salt),
        authKeyHash: hashAuthKey(fromB64u(body.authKey)),
        identityPublicKey: fromB64u(body.identityPublicKey),
        boxPublicKey: fromB64u(body.boxPublicKey),
        wrappedIdentityKey: fromB64u(body.wrappedIdentityPrivateKey),
        wrappedBoxKey: fromB64u(body.wrappedBoxPrivateKey),
        certificate: body.certificate,
        signerPublicKey: fromB64u(body.certificate.signerPublicKey),
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new VeilError("conflict", { detail: "instance id taken" });
    await audit(ctx.services, {
      action: "instance.create",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      targetType: "instance",
      targetId: id,
      ip: ctx.ip,
      details: { name: body.name },
    });
    return {
      status: 201,
      body: { instance: instanceSummary({ ...row, presenceFresh: false }, "admin") } satisfies TInstanceResponse,
    };
  },
});
