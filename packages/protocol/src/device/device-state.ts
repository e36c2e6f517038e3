import { z } from "zod";
import { ZCountSchema, ZIpv4Schema, ZMacSchema, zDeviceText } from "./numbers";

/** What kind of device: access point, switch or router/gateway. */
export const ZDeviceKindSchema = z.enum(["ap", "switch", "router"]);
/** The parsed value of `ZDeviceKindSchema`. */
export type TDeviceKind = z.infer<typeof ZDeviceKindSchema>;

/** Caps on the lists of one device state report. */
export const DEVICE_STATE_LIMITS = { interfaces: 64, clients: 1024 } as const;

/** A network interface or switch port with its traffic counters (monotonic until reboot). */
export const ZDeviceInterfaceSchema = z.object({
  name: zDeviceText(32),
  mac: ZMacSchema,
  up: z.boolean(),
  speedMbps: z.number().int().min(0).max(400_000),
  rxBytes: ZCountSchema,
  txBytes: ZCountSchema,
  rxPackets: ZCountSchema,
  txPackets: ZCountSchema,
});
/** The parsed value of `ZDeviceInterfaceSchema`. */
export type TDeviceInterface = z.infer<typeof ZDeviceInterfaceSchema>;

/** A client connected to the device (wireless station or wired host). */
export const ZDeviceClientSchema = z.object({
  mac: ZMacSchema,
  ip: ZIpv4Schema.optional(),
  hostname: zDeviceText(64).optional(),
  signalDbm: z.number().int().min(-120).max(0).optional(),
  rxBytes: ZCountSchema,
  txBytes: ZCountSchema,
  uptime: ZCountSchema,
});
/** The parsed value of `ZDeviceClientSchema`. */
export type TDeviceClient = z.infer<typeof ZDeviceClientSchema>;

/**
 * One state report of a device over Veil's own channel: the normalised inventory record the
 * companion stores (the UniFi dialect is mapped onto the same shape).
 */
export const ZDeviceStateSchema = z.object({
  mac: ZMacSchema,
  kind: ZDeviceKindSchema,
  model: zDeviceText(32),
  modelDisplay: zDeviceText(64),
  firmware: zDeviceText(64),
  hostname: zDeviceText(64),
  ip: ZIpv4Schema,
  uptime: ZCountSchema,
  /** CPU use in percent, 0–100. */
  cpu: z.number().min(0).max(100),
  memory: z.object({ totalBytes: ZCountSchema, usedBytes: ZCountSchema }),
  locating: z.boolean(),
  interfaces: z.array(ZDeviceInterfaceSchema).max(DEVICE_STATE_LIMITS.interfaces),
  clients: z.array(ZDeviceClientSchema).max(DEVICE_STATE_LIMITS.clients),
});
/** The parsed value of `ZDeviceStateSchema`. */
export type TDeviceState = z.infer<typeof ZDeviceStateSchema>;
