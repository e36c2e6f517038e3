import { z } from "zod";
import { ZEmailSchema, ZIdSchema, ZRoleSchema, ZSecret256Schema } from "../fields";
import { ZUserSummarySchema } from "./accounts";
import { ZTimestampSchema } from "./common";

/** GET /api/users (admin) */
export const ZUserListResponseSchema = z.object({ users: z.array(ZUserSummarySchema) });
export type TUserListResponse = z.infer<typeof ZUserListResponseSchema>;

/** POST /api/invites (admin, step-up). The token is shown once; only its hash is stored. */
export const ZInviteCreateRequestSchema = z.object({ email: ZEmailSchema.optional(), role: ZRoleSchema }).strict();
export type TInviteCreateRequest = z.infer<typeof ZInviteCreateRequestSchema>;
export const ZInviteCreateResponseSchema = z.object({
  inviteId: ZIdSchema,
  token: ZSecret256Schema,
  expiresAt: ZTimestampSchema,
});
export type TInviteCreateResponse = z.infer<typeof ZInviteCreateResponseSchema>;

/** PUT /api/users/:id/role (admin, step-up) */
export const ZRoleChangeRequestSchema = z.object({ role: ZRoleSchema }).strict();
export type TRoleChangeRequest = z.infer<typeof ZRoleChangeRequestSchema>;

/** GET /api/audit query string (admin, auditor). */
export const ZAuditQuerySchema = z
  .object({
    action: z.string().max(100).optional(),
    actor: ZIdSchema.optional(),
    outcome: z.enum(["success", "failure", "denied"]).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type TAuditQuery = z.infer<typeof ZAuditQuerySchema>;

export const ZAuditEntrySchema = z.object({
  seq: z.number().int(),
  at: ZTimestampSchema,
  actorUserId: ZIdSchema.nullable(),
  actorEmail: z.string().nullable(),
  action: z.string(),
  outcome: z.enum(["success", "failure", "denied"]),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  /** base64url SHA-256 chain hash of this row. */
  hash: z.string(),
});
export const ZAuditListResponseSchema = z.object({
  entries: z.array(ZAuditEntrySchema),
  nextBefore: z.number().int().nullable(),
});
export type TAuditListResponse = z.infer<typeof ZAuditListResponseSchema>;

/** GET /api/audit/verify (admin, auditor) */
export const ZAuditVerifyResponseSchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  anchorSeq: z.number().int(),
  brokenAt: z.number().int().optional(),
});

/** Console settings (GET /api/settings; PUT with a partial body, admin + step-up). */
export const ZSettingsSchema = z.object({
  /** Audit rows older than this are removed by the daily clean-up. */
  auditRetentionDays: z.number().int().min(1).max(3650),
});
export type TSettings = z.infer<typeof ZSettingsSchema>;
export const ZSettingsUpdateRequestSchema = ZSettingsSchema.partial().strict();
export type TSettingsUpdateRequest = z.infer<typeof ZSettingsUpdateRequestSchema>;
