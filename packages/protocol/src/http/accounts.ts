import { z } from "zod";
import {
  zB64u,
  ZEmailSchema,
  ZIdSchema,
  ZKdfParamsSchema,
  ZPublicKeySchema,
  ZRoleSchema,
  ZSecret256Schema,
} from "../fields";
import { IDLE_TIMEOUT_MAX_SECONDS, IDLE_TIMEOUT_MIN_SECONDS, ZTimestampSchema } from "./common";

/** A private key wrapped by the browser (versioned AEAD blob from @veil/crypto); opaque here. */
export const ZWrappedKeySchema = zB64u({ maxBytes: 1024 });

/** The key material the console keeps for an account: public keys and wrapped private keys. */
export const ZAccountKeysSchema = z
  .object({
    identityPublicKey: ZPublicKeySchema,
    boxPublicKey: ZPublicKeySchema,
    /** The box public key signed by the identity key; opaque to the console. */
    boxKeyCertificate: zB64u({ maxBytes: 512 }),
    wrappedIdentityKey: ZWrappedKeySchema,
    wrappedBoxKey: ZWrappedKeySchema,
  })
  .strict();
export type TAccountKeys = z.infer<typeof ZAccountKeysSchema>;

/**
 * Keys wrapped a second time under a recovery code (optional recovery kit). `authKey` is the
 * recovery code's auth key: the console stores only its hash, so a user who lost the password
 * can later prove the kit (POST /api/auth/recover/start). Without it the kit still unwraps
 * keys for a signed-in user but cannot be used to regain access. Never returned by the console.
 */
export const ZRecoveryKitSchema = z
  .object({
    salt: zB64u({ bytes: 16 }),
    wrappedIdentityKey: ZWrappedKeySchema,
    wrappedBoxKey: ZWrappedKeySchema,
    authKey: ZSecret256Schema.optional(),
  })
  .strict();
export type TRecoveryKit = z.infer<typeof ZRecoveryKitSchema>;

/** POST /api/auth/prelogin */
export const ZPreloginRequestSchema = z.object({ email: ZEmailSchema }).strict();
export type TPreloginRequest = z.infer<typeof ZPreloginRequestSchema>;
/** Same shape for known and unknown e-mails (unknown ones get deterministic fakes). */
export const ZPreloginResponseSchema = z.object({ kdf: ZKdfParamsSchema });
export type TPreloginResponse = z.infer<typeof ZPreloginResponseSchema>;

/**
 * POST /api/auth/signup. The browser picks `userId` because the wrapped keys' AAD binds it.
 * The first account needs no invite and becomes admin; later ones need `inviteToken`.
 */
export const ZSignupRequestSchema = z
  .object({
    userId: ZIdSchema,
    email: ZEmailSchema,
    inviteToken: ZSecret256Schema.optional(),
    kdf: ZKdfParamsSchema,
    authKey: ZSecret256Schema,
    keys: ZAccountKeysSchema,
    recovery: ZRecoveryKitSchema.optional(),
  })
  .strict();
export type TSignupRequest = z.infer<typeof ZSignupRequestSchema>;

export const ZUserSummarySchema = z.object({
  id: ZIdSchema,
  email: z.string(),
  role: ZRoleSchema,
  totpEnabled: z.boolean(),
  createdAt: ZTimestampSchema,
});
export type TUserSummary = z.infer<typeof ZUserSummarySchema>;

/** A new session: send `token` back in the `x-auth-token` header (never a cookie). */
export const ZSessionIssuedSchema = z.object({
  token: ZSecret256Schema,
  sessionId: ZIdSchema,
  expiresAt: ZTimestampSchema,
  idleTimeoutSeconds: z.number().int(),
  user: ZUserSummarySchema,
});
export type TSessionIssued = z.infer<typeof ZSessionIssuedSchema>;
export const ZSignupResponseSchema = ZSessionIssuedSchema;
export type TSignupResponse = TSessionIssued;

/** POST /api/auth/login */
export const ZLoginRequestSchema = z.object({ email: ZEmailSchema, authKey: ZSecret256Schema }).strict();
export type TLoginRequest = z.infer<typeof ZLoginRequestSchema>;
export const ZLoginResponseSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("ok"), session: ZSessionIssuedSchema }),
  z.object({ status: z.literal("two_factor_required"), challenge: ZSecret256Schema, expiresAt: ZTimestampSchema }),
]);
export type TLoginResponse = z.infer<typeof ZLoginResponseSchema>;

/** A backup code as shown to the user: 3 groups of 4 base32 characters (60 bits). */
export const ZBackupCodeSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z2-7]{4}-?[A-Z2-7]{4}-?[A-Z2-7]{4}$/, "must be a backup code like ABCD-EFGH-IJKL")
  .transform((s) => s.replaceAll("-", ""));
export const ZTotpCodeSchema = z.string().regex(/^\d{6}$/, "must be 6 digits");

/** POST /api/auth/login/2fa: exactly one of `code` and `backupCode`. */
export const ZLogin2faRequestSchema = z
  .object({ challenge: ZSecret256Schema, code: ZTotpCodeSchema.optional(), backupCode: ZBackupCodeSchema.optional() })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.backupCode === undefined), {
    message: "send exactly one of code and backupCode",
  });
export type TLogin2faRequest = z.infer<typeof ZLogin2faRequestSchema>;
export const ZLogin2faResponseSchema = z.object({ status: z.literal("ok"), session: ZSessionIssuedSchema });

/**
 * The console's half of a tab vault's key (32 random bytes), one per session, served only to
 * that session while it lives. The tab mixes it into the key that re-opens the private keys it
 * sealed for a reload, so what the tab leaves in sessionStorage and IndexedDB (which session
 * restore and the profile on disk keep) opens nothing once the session has ended. Alone it
 * opens nothing either. Absent for sessions issued before it existed: no vault, a reload asks
 * for the password.
 */
export const ZTabVaultShareSchema = ZSecret256Schema;

/** GET /api/me: what the browser needs to unwrap its keys locally. */
export const ZMeResponseSchema = z.object({
  user: ZUserSummarySchema.extend({ idleTimeoutSeconds: z.number().int(), keysVersion: z.number().int() }),
  kdf: ZKdfParamsSchema,
  keys: ZAccountKeysSchema,
  recovery: ZRecoveryKitSchema.nullable(),
  session: z.object({
    id: ZIdSchema,
    expiresAt: ZTimestampSchema,
    stepUpUntil: ZTimestampSchema.nullable(),
    tabVaultShare: ZTabVaultShareSchema.optional(),
  }),
});
export type TMeResponse = z.infer<typeof ZMeResponseSchema>;

/** GET /api/sessions */
export const ZSessionInfoSchema = z.object({
  id: ZIdSchema,
  createdAt: ZTimestampSchema,
  lastSeenAt: ZTimestampSchema,
  expiresAt: ZTimestampSchema,
  idleExpiresAt: ZTimestampSchema,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});
export const ZSessionListResponseSchema = z.object({ sessions: z.array(ZSessionInfoSchema) });
export type TSessionListResponse = z.infer<typeof ZSessionListResponseSchema>;

/** PUT /api/account/idle-timeout */
export const ZIdleTimeoutRequestSchema = z
  .object({ seconds: z.number().int().min(IDLE_TIMEOUT_MIN_SECONDS).max(IDLE_TIMEOUT_MAX_SECONDS) })
  .strict();
export type TIdleTimeoutRequest = z.infer<typeof ZIdleTimeoutRequestSchema>;

/** POST /api/account/step-up: a fresh proof of the auth key before sensitive actions. */
export const ZStepUpRequestSchema = z.object({ authKey: ZSecret256Schema }).strict();
export type TStepUpRequest = z.infer<typeof ZStepUpRequestSchema>;
export const ZStepUpResponseSchema = z.object({ stepUpUntil: ZTimestampSchema });

/**
 * POST /api/account/password: new KDF params and auth key, keys re-wrapped under the new wrap
 * key (public keys unchanged), proof of the current auth key. Ends all other sessions.
 */
export const ZPasswordChangeRequestSchema = z
  .object({
    currentAuthKey: ZSecret256Schema,
    kdf: ZKdfParamsSchema,
    authKey: ZSecret256Schema,
    wrappedIdentityKey: ZWrappedKeySchema,
    wrappedBoxKey: ZWrappedKeySchema,
    /** New recovery kit, or null to remove it; absent keeps the current one. */
    recovery: ZRecoveryKitSchema.nullable().optional(),
  })
  .strict();
export type TPasswordChangeRequest = z.infer<typeof ZPasswordChangeRequestSchema>;

/** POST /api/account/totp/setup (step-up): a new secret, pending until confirmed. */
export const ZTotpSetupResponseSchema = z.object({ secret: z.string(), otpauthUri: z.string(), qrDataUrl: z.string() });
export type TTotpSetupResponse = z.infer<typeof ZTotpSetupResponseSchema>;
/** POST /api/account/totp/confirm */
export const ZTotpConfirmRequestSchema = z.object({ code: ZTotpCodeSchema }).strict();
export type TTotpConfirmRequest = z.infer<typeof ZTotpConfirmRequestSchema>;
/** Ten single-use backup codes, shown once. */
export const ZBackupCodesResponseSchema = z.object({ backupCodes: z.array(z.string()).length(10) });
export type TBackupCodesResponse = z.infer<typeof ZBackupCodesResponseSchema>;

/** POST /api/auth/recover/prelogin — the recovery kit's salt (a deterministic fake when there is none). */
export const ZRecoverPreloginRequestSchema = z.object({ email: ZEmailSchema }).strict();
export type TRecoverPreloginRequest = z.infer<typeof ZRecoverPreloginRequestSchema>;
export const ZRecoverPreloginResponseSchema = z.object({ salt: zB64u({ bytes: 16 }) });
export type TRecoverPreloginResponse = z.infer<typeof ZRecoverPreloginResponseSchema>;

/**
 * POST /api/auth/recover/start — proves the recovery code (its auth key) and, when 2FA is on,
 * a TOTP or backup code. Answers the recovery-wrapped keys (to unwrap locally) and a
 * short-lived challenge for /complete.
 */
export const ZRecoverStartRequestSchema = z
  .object({
    email: ZEmailSchema,
    authKey: ZSecret256Schema,
    code: ZTotpCodeSchema.optional(),
    backupCode: ZBackupCodeSchema.optional(),
  })
  .strict()
  .refine((b) => b.code === undefined || b.backupCode === undefined, {
    message: "send at most one of code and backupCode",
  });
export type TRecoverStartRequest = z.infer<typeof ZRecoverStartRequestSchema>;
export const ZRecoverStartResponseSchema = z.object({
  challenge: ZSecret256Schema,
  expiresAt: ZTimestampSchema,
  userId: ZIdSchema,
  publicKeys: z.object({
    identityPublicKey: ZPublicKeySchema,
    boxPublicKey: ZPublicKeySchema,
    boxKeyCertificate: zB64u({ maxBytes: 512 }),
  }),
  recovery: z.object({
    salt: zB64u({ bytes: 16 }),
    wrappedIdentityKey: ZWrappedKeySchema,
    wrappedBoxKey: ZWrappedKeySchema,
  }),
});
export type TRecoverStartResponse = z.infer<typeof ZRecoverStartResponseSchema>;

/**
 * POST /api/auth/recover/complete — a new password (params, auth key, keys re-wrapped) and a
 * new recovery kit or null (the used code should be replaced). Ends every session of the
 * account and signs in.
 */
export const ZRecoverCompleteRequestSchema = z
  .object({
    challenge: ZSecret256Schema,
    kdf: ZKdfParamsSchema,
    authKey: ZSecret256Schema,
    wrappedIdentityKey: ZWrappedKeySchema,
    wrappedBoxKey: ZWrappedKeySchema,
    recovery: ZRecoveryKitSchema.nullable(),
  })
  .strict();
export type TRecoverCompleteRequest = z.infer<typeof ZRecoverCompleteRequestSchema>;
