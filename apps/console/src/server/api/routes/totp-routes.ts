import { and, eq, isNotNull } from "drizzle-orm";
import { backupCodes, users, type VeilDatabase } from "@veil/db";
import {
  VeilError,
  ZEmptyBodySchema,
  ZTotpConfirmRequestSchema,
  type TBackupCodesResponse,
  type TTotpSetupResponse,
} from "@veil/protocol";
import { BACKUP_CODE_COUNT, hashBackupCode, newBackupCode } from "../../auth/backup-codes";
import { checkTotp, newTotpSecret, totpEnrollment } from "../../auth/totp";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";

/** Replaces a user's backup codes with ten new ones (Argon2id-hashed); returns them once. */
async function replaceBackupCodes(db: VeilDatabase, userId: string): Promise<string[]> {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
  const hashes: string[] = [];
  for (const c of codes) hashes.push(await hashBackupCode(c));
  await db.transaction(async (tx) => {
    await tx.delete(backupCodes).where(eq(backupCodes.userId, userId));
    await tx.insert(backupCodes).values(hashes.map((codeHash) => ({ userId, codeHash })));
  });
  return codes;
}

/** POST /api/account/totp/setup (step-up) — a pending secret, its otpauth URI and QR code. */
export const setupTotp = defineRoute({
  method: "POST",
  path: "/api/account/totp/setup",
  rate: "twoFactor",
  auth: "session",
  stepUp: true,
  body: ZEmptyBodySchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    if (user.totpEnabledAt) throw new VeilError("conflict", { detail: "2FA already enabled" });
    const secret = newTotpSecret();
    await ctx.services.db
      .update(users)
      .set({ totpPendingEnc: ctx.services.secrets.sealTotp(user.id, secret), updatedAt: new Date() })
      .where(eq(users.id, user.id));
    await audit(ctx.services, {
      action: "2fa.setup_started",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      ip: ctx.ip,
    });
    return { body: (await totpEnrollment(secret, user.email)) satisfies TTotpSetupResponse };
  },
});

/** POST /api/account/totp/confirm — first valid code turns 2FA on and yields ten backup codes. */
export const confirmTotp = defineRoute({
  method: "POST",
  path: "/api/account/totp/confirm",
  rate: "twoFactor",
  auth: "session",
  body: ZTotpConfirmRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    if (!user.totpPendingEnc) throw new VeilError("conflict", { detail: "no pending 2FA set-up" });
    const step = checkTotp(ctx.services.secrets.openTotp(user.id, user.totpPendingEnc), ctx.body.code);
    if (step === null) {
      await audit(ctx.services, {
        action: "2fa.enable",
        outcome: "failure",
        actorUserId: user.id,
        actorEmail: user.email,
        ip: ctx.ip,
      });
      throw new VeilError("invalid_two_factor");
    }
    const done = await ctx.services.db
      .update(users)
      .set({
        totpSecretEnc: user.totpPendingEnc,
        totpPendingEnc: null,
        totpEnabledAt: new Date(),
        totpLastStep: step,
        updatedAt: new Date(),
      })
      .where(and(eq(users.id, user.id), isNotNull(users.totpPendingEnc)))
      .returning({ id: users.id });
    if (done.length !== 1) throw new VeilError("conflict");
    const codes = await replaceBackupCodes(ctx.services.db, user.id);
    await audit(ctx.services, {
      action: "2fa.enable",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      ip: ctx.ip,
      details: { backupCodes: codes.length },
    });
    return { body: { backupCodes: codes } satisfies TBackupCodesResponse };
  },
});

/** POST /api/account/totp/disable (step-up) — turns 2FA off and deletes the backup codes. */
export const disableTotp = defineRoute({
  method: "POST",
  path: "/api/account/totp/disable",
  rate: "twoFactor",
  auth: "session",
  stepUp: true,
  body: ZEmptyBodySchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    await ctx.services.db.transaction(async (tx) => {
      await tx
        .update(users)
        .set({ totpSecretEnc: null, totpPendingEnc: null, totpEnabledAt: null, totpLastStep: 0, updatedAt: new Date() })
        .where(eq(users.id, user.id));
      await tx.delete(backupCodes).where(eq(backupCodes.userId, user.id));
    });
    await audit(ctx.services, {
      action: "2fa.disable",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      ip: ctx.ip,
    });
    return { body: { ok: true } };
  },
});

/** POST /api/account/backup-codes (step-up) — ten new backup codes; the old ones stop working. */
export const regenerateBackupCodes = defineRoute({
  method: "POST",
  path: "/api/account/backup-codes",
  rate: "twoFactor",
  auth: "session",
  stepUp: true,
  body: ZEmptyBodySchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    if (!user.totpEnabledAt) throw new VeilError("conflict", { detail: "2FA is off" });
    const codes = await replaceBackupCodes(ctx.services.db, user.id);
    await audit(ctx.services, {
      action: "2fa.backup_codes_regenerated",
      outcome: "success",
      actorUserId: user.id,
      actorEmail: user.email,
      ip: ctx.ip,
    });
    return { body: { backupCodes: codes } satisfies TBackupCodesResponse };
  },
});
