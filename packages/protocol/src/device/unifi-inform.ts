import { z } from "zod";
import { ZCountSchema, ZIpv4Schema, ZLooseNumberSchema, ZMacSchema, zDeviceText } from "./numbers";

/**
 * Caps on what one UniFi inform payload may list. Generous for real gear (a 48-port switch,
 * an AP with a few hundred clients), small enough that a flood of informs stays cheap.
 */
export const UNIFI_INFORM_LIMITS = { interfaces: 64, ports: 64, radios: 8, clients: 1024 } as const;

/** One entry of `if_table`: a network interface and its counters. */
export const ZUnifiInterfaceSchema = z.object({
  name: zDeviceText(32),
  mac: ZMacSchema.optional(),
  ip: ZIpv4Schema.optional(),
  netmask: ZIpv4Schema.optional(),
  up: z.boolean().optional(),
  speed: ZCountSchema.optional(),
  full_duplex: z.boolean().optional(),
  rx_bytes: ZCountSchema.optional(),
  tx_bytes: ZCountSchema.optional(),
  rx_packets: ZCountSchema.optional(),
  tx_packets: ZCountSchema.optional(),
  rx_errors: ZCountSchema.optional(),
  tx_errors: ZCountSchema.optional(),
});

/** One entry of `port_table` (switches). */
export const ZUnifiPortSchema = z.object({
  port_idx: z.number().int().min(0).max(256),
  name: zDeviceText(64).optional(),
  up: z.boolean().optional(),
  speed: ZCountSchema.optional(),
  poe_enable: z.boolean().optional(),
  rx_bytes: ZCountSchema.optional(),
  tx_bytes: ZCountSchema.optional(),
});

/** One entry of `radio_table` (access points). */
export const ZUnifiRadioSchema = z.object({
  name: zDeviceText(32),
  radio: zDeviceText(8),
  channel: z.number().int().min(0).max(233).optional(),
  tx_power: z.number().int().min(-10).max(40).optional(),
});

/** One entry of `sta_table`: a connected client (station). */
export const ZUnifiStationSchema = z.object({
  mac: ZMacSchema,
  ip: ZIpv4Schema.optional(),
  hostname: zDeviceText(64).optional(),
  signal: z.number().int().min(-120).max(0).optional(),
  uptime: ZCountSchema.optional(),
  rx_bytes: ZCountSchema.optional(),
  tx_bytes: ZCountSchema.optional(),
});

/**
 * The decrypted JSON of a UniFi inform request, reduced to the fields Veil uses (unknown
 * fields are stripped). Field names are the firmware's own. A device on the default key is
 * unauthenticated: parse it, show it as pending, trust none of it.
 */
export const ZUnifiInformSchema = z.object({
  mac: ZMacSchema,
  ip: ZIpv4Schema,
  model: zDeviceText(32),
  model_display: zDeviceText(64).optional(),
  type: z.enum(["uap", "usw", "ugw", "udm"]).optional(),
  version: zDeviceText(64),
  hostname: zDeviceText(64),
  serial: zDeviceText(32).optional(),
  uptime: ZCountSchema,
  time: ZCountSchema.optional(),
  default: z.boolean().optional(),
  inform_url: z.url().max(256).optional(),
  cfgversion: zDeviceText(64).optional(),
  locating: z.boolean().optional(),
  if_table: z.array(ZUnifiInterfaceSchema).max(UNIFI_INFORM_LIMITS.interfaces).default([]),
  port_table: z.array(ZUnifiPortSchema).max(UNIFI_INFORM_LIMITS.ports).optional(),
  radio_table: z.array(ZUnifiRadioSchema).max(UNIFI_INFORM_LIMITS.radios).optional(),
  sta_table: z.array(ZUnifiStationSchema).max(UNIFI_INFORM_LIMITS.clients).optional(),
  sys_stats: z
    .object({
      loadavg_1: ZLooseNumberSchema.optional(),
      mem_total: ZLooseNumberSchema.optional(),
      mem_used: ZLooseNumberSchema.optional(),
    })
    .optional(),
  "system-stats": z
    .object({
      cpu: ZLooseNumberSchema.optional(),
      mem: ZLooseNumberSchema.optional(),
      uptime: ZLooseNumberSchema.optional(),
    })
    .optional(),
  /** Results of `cmd` replies run since the last inform (simulator and Veil extension). */
  cmd_results: z
    .array(z.object({ _id: zDeviceText(64), ok: z.boolean(), output: z.string().max(16_384) }))
    .max(16)
    .optional(),
});
/** The parsed value of `ZUnifiInformSchema`. */
export type TUnifiInform = z.infer<typeof ZUnifiInformSchema>;
