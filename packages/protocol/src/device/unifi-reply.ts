import { z } from "zod";
import { zDeviceText } from "./numbers";

/**
 * Replies a UniFi controller (here: the companion) sends in the body of an inform response.
 * `_type` selects the variant; field names are the firmware's own.
 */
export const ZUnifiNoopSchema = z.object({
  _type: z.literal("noop"),
  /** Seconds until the next inform; firmware commonly gets 10. */
  interval: z.number().int().min(1).max(3600),
  server_time_in_utc: z.string().max(20).optional(),
});

/**
 * `setparam`: `mgmt_cfg` is newline-separated `key=value` text; adoption puts the new
 * `mgmt.authkey` (32 hex) and `mgmt.url` (inform URL) in it.
 */
export const ZUnifiSetparamSchema = z.object({
  _type: z.literal("setparam"),
  mgmt_cfg: z.string().max(8192),
  server_time_in_utc: z.string().max(20).optional(),
});

/** `reboot`: reboot now. */
export const ZUnifiRebootSchema = z.object({
  _type: z.literal("reboot"),
  server_time_in_utc: z.string().max(20).optional(),
});

/** `cmd`: run a command; the result comes back in a later inform's `cmd_results`. */
export const ZUnifiCmdSchema = z.object({
  _type: z.literal("cmd"),
  _id: zDeviceText(64),
  cmd: z.string().min(1).max(1024),
  server_time_in_utc: z.string().max(20).optional(),
});

/** `upgrade`: fetch firmware from `url`, check `md5sum`, install `version`. */
export const ZUnifiUpgradeSchema = z.object({
  _type: z.literal("upgrade"),
  url: z.url().max(512),
  md5sum: z.string().regex(/^[0-9a-f]{32}$/),
  version: zDeviceText(64),
});

/** `setdefault`: factory reset (forget the authkey, back to the default key). */
export const ZUnifiSetdefaultSchema = z.object({ _type: z.literal("setdefault") });

/** Any controller reply. */
export const ZUnifiReplySchema = z.discriminatedUnion("_type", [
  ZUnifiNoopSchema,
  ZUnifiSetparamSchema,
  ZUnifiRebootSchema,
  ZUnifiCmdSchema,
  ZUnifiUpgradeSchema,
  ZUnifiSetdefaultSchema,
]);
/** The parsed value of `ZUnifiReplySchema`. */
export type TUnifiReply = z.infer<typeof ZUnifiReplySchema>;

/** Parsed `mgmt_cfg` lines Veil reads from a setparam: the new authkey and inform URL. */
export const ZUnifiMgmtCfgSchema = z.object({
  "mgmt.authkey": z.string().regex(/^[0-9a-f]{32}$/, "must be 32 hex"),
  "mgmt.url": z.url().max(256).optional(),
  "mgmt.interval": z
    .string()
    .regex(/^\d{1,5}$/)
    .optional(),
});
/** The parsed value of `ZUnifiMgmtCfgSchema`. */
export type TUnifiMgmtCfg = z.infer<typeof ZUnifiMgmtCfgSchema>;
