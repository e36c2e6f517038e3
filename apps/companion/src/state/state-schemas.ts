import { z } from "zod";
import { ZEnrollmentSchema, ZInstanceCertificateSchema } from "../protocol";
import { ZPublicKeySchema, ZSecret256Schema, zB64u } from "../protocol";

/**
 * config.json: everything public the companion learned at enrollment. Written last, so its
 * presence means enrollment completed.
 */
export const ZCompanionConfigSchema = z.strictObject({
  version: z.literal(1),
  consoleUrl: ZEnrollmentSchema.shape.consoleUrl,
  consolePin: ZEnrollmentSchema.shape.consolePin,
  instanceId: ZEnrollmentSchema.shape.instanceId,
  instanceName: z.string().max(200),
  signerFingerprint: zB64u({ bytes: 32 }),
  signerPublicKey: ZPublicKeySchema,
  certificate: ZInstanceCertificateSchema,
  identityPublicKey: ZPublicKeySchema,
  boxPublicKey: ZPublicKeySchema,
  enrolledAt: z.number().int(),
  rotatedAt: z.number().int().optional(),
});
export type TCompanionConfig = z.infer<typeof ZCompanionConfigSchema>;

/** secrets.json: the token's auth key and the instance private keys. Never logged, never sent (except the auth key, to the pinned console). */
export const ZCompanionSecretsSchema = z.strictObject({
  version: z.literal(1),
  authKey: ZSecret256Schema,
  identityPrivateKey: ZSecret256Schema,
  boxPrivateKey: ZSecret256Schema,
});
export type TCompanionSecrets = z.infer<typeof ZCompanionSecretsSchema>;

/** status.json: what `run` is doing, for `status`. */
export const ZCompanionStatusSchema = z.strictObject({
  pid: z.number().int(),
  updatedAt: z.number().int(),
  connection: z.enum(["starting", "connecting", "connected", "disconnected", "revoked", "stopped"]),
  connectedSince: z.number().int().nullable(),
  reconnectAttempt: z.number().int().min(0),
  lastError: z.string().max(200).nullable(),
  sessions: z
    .array(
      z.strictObject({ sessionId: z.string(), accountId: z.string(), role: z.string(), openedAt: z.number().int() }),
    )
    .max(1000),
});
export type TCompanionStatus = z.infer<typeof ZCompanionStatusSchema>;

/**
 * rotation.json: the auth key of a token rotation whose console call has not been confirmed.
 * If the console took the new key but the reply was lost, the companion tries this key when
 * the old one is refused, so a crash mid-rotation cannot lock it out.
 */
export const ZPendingRotationSchema = z.strictObject({
  version: z.literal(1),
  authKey: ZSecret256Schema,
  startedAt: z.number().int(),
});
export type TPendingRotation = z.infer<typeof ZPendingRotationSchema>;
