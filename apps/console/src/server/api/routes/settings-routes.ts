import { settings, type VeilDatabase } from "@veil/db";
import { ZSettingsSchema, ZSettingsUpdateRequestSchema, type TSettings } from "@veil/protocol";
import { audit } from "../../services";
import { defineRoute, requireAuth } from "../route";

export const DEFAULT_SETTINGS: TSettings = { auditRetentionDays: 90 };

/** Current settings: stored values over defaults, each re-validated on read. */
export async function loadSettings(db: VeilDatabase): Promise<TSettings> {
  const rows = await db.select().from(settings);
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const r of rows) merged[r.key] = r.value;
  const parsed = ZSettingsSchema.safeParse(merged);
  return parsed.success ? parsed.data : DEFAULT_SETTINGS;
}

/** GET /api/settings (admin, auditor) */
export const getSettings = defineRoute({
  method: "GET",
  path: "/api/settings",
  rate: "apiRead",
  auth: "session",
  roles: ["admin", "auditor"],
  handler: async (ctx) => ({ body: await loadSettings(ctx.services.db) }),
});

/** PUT /api/settings (admin, step-up) — partial update; each change is audited. */
export const updateSettings = defineRoute({
  method: "PUT",
  path: "/api/settings",
  rate: "apiWrite",
  auth: "session",
  roles: ["admin"],
  stepUp: true,
  body: ZSettingsUpdateRequestSchema,
  handler: async (ctx) => {
    const { user } = requireAuth(ctx);
    const before = await loadSettings(ctx.services.db);
    for (const [key, value] of Object.entries(ctx.body)) {
      if (value === undefined) continue;
      await ctx.services.db
        .insert(settings)
        .values({ key, value, updatedBy: user.id })
        .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date(), updatedBy: user.id } });
      await audit(ctx.services, {
        action: "settings.change",
        outcome: "success",
        actorUserId: user.id,
        actorEmail: user.email,
        targetType: "setting",
        targetId: key,
        ip: ctx.ip,
        details: { from: before[key as keyof TSettings], to: value },
      });
    }
    return { body: await loadSettings(ctx.services.db) };
  },
});
