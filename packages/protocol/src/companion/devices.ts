import { z } from "zod";
import { ZIdSchema, type TRole } from "../fields";
import { ZDeviceKindSchema } from "../device/device-state";
import { ZIpv4Schema, ZMacSchema, zDeviceText } from "../device/numbers";

/**
 * End-to-end requests about the devices of a site (issue 5): inventory, history, outages,
 * live updates, commands and the site key. Browser ↔ companion only, inside the Noise session;
 * the console relays ciphertext. Every list is paged and capped, by count and by bytes, so one
 * response stays under MAX_E2E_MESSAGE_BYTES (60,000) whatever text the devices report (any
 * host on the LAN can report as a pending device). docs/COMPANION-DEVICES.md describes the
 * semantics.
 */

const ZEpochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZPercent = z.number().min(0).max(100);

/** Which wire a device speaks: UniFi inform (TNBU over HTTP) or Veil's own WSS channel. */
export const ZDeviceDialectSchema = z.enum(["unifi", "veil"]);
export type TDeviceDialect = z.infer<typeof ZDeviceDialectSchema>;

/**
 * `pending`: reports under a public or shared key (UniFi default key, Veil site key) — shown,
 * trusted for nothing. `online`/`offline`: adopted; offline after three missed inform intervals.
 */
export const ZDeviceStatusSchema = z.enum(["online", "offline", "pending"]);
export type TDeviceStatus = z.infer<typeof ZDeviceStatusSchema>;

/** One row of the devices page. */
export const ZDeviceSummarySchema = z.strictObject({
  mac: ZMacSchema,
  dialect: ZDeviceDialectSchema,
  status: ZDeviceStatusSchema,
  /** Operator-given name, else the device's hostname (device text: made printable, as every field a device chose). */
  name: zDeviceText(64),
  hostname: zDeviceText(64),
  kind: ZDeviceKindSchema,
  model: zDeviceText(32),
  modelDisplay: zDeviceText(64),
  firmware: zDeviceText(64),
  ip: z.string().max(15),
  firstSeen: ZEpochMs,
  lastSeen: ZEpochMs,
  intervalSec: z.number().int().min(1).max(3600),
  uptime: ZCount,
  cpu: ZPercent,
  memoryPct: ZPercent,
  clients: ZCount,
  locating: z.boolean(),
});
export type TDeviceSummary = z.infer<typeof ZDeviceSummarySchema>;

/** Sort keys of `devices.list`. */
export const ZDeviceSortSchema = z.enum(["name", "model", "status", "lastSeen", "ip", "mac", "cpu", "clients"]);

/** `devices.list`: one page, filtered and sorted on the companion. */
export const ZDevicesListBodySchema = z.strictObject({
  offset: z.number().int().min(0).max(1_000_000).default(0),
  limit: z.number().int().min(1).max(100).default(50),
  /** Case-insensitive substring of name, hostname, MAC, IP or model. */
  search: z.string().max(64).optional(),
  status: ZDeviceStatusSchema.optional(),
  model: z.string().max(32).optional(),
  sort: ZDeviceSortSchema.default("name"),
  order: z.enum(["asc", "desc"]).default("asc"),
});
export type TDevicesListBody = z.infer<typeof ZDevicesListBodySchema>;
export const ZDevicesListResultSchema = z.strictObject({
  total: ZCount,
  offset: ZCount,
  /**
   * Up to `limit` rows, fewer when more would not fit one E2E message (long or escaped device
   * text), never none while rows remain past `offset`: the next page starts at
   * `offset + devices.length`, not `offset + limit`.
   */
  devices: z.array(ZDeviceSummarySchema).max(100),
  /** Counts over the whole inventory (not just this page), for the filter chips. */
  counts: z.strictObject({ online: ZCount, offline: ZCount, pending: ZCount }),
});
export type TDevicesListResult = z.infer<typeof ZDevicesListResultSchema>;

/** A history series: `step` ms between points, oldest first; `null` where the device was silent. */
export const ZDeviceHistorySchema = z.strictObject({
  start: ZEpochMs,
  stepMs: z.number().int().min(60_000).max(86_400_000),
  cpu: z.array(ZPercent.nullable()).max(1440),
  memoryPct: z.array(ZPercent.nullable()).max(1440),
  /** Average bytes per second over the step, all interfaces summed. */
  rxBps: z.array(ZCount.nullable()).max(1440),
  txBps: z.array(ZCount.nullable()).max(1440),
});
export type TDeviceHistory = z.infer<typeof ZDeviceHistorySchema>;

/** Stable error codes of a device command. */
export const ZDeviceCommandErrorCodeSchema = z.enum([
  "not_found",
  "pending_adoption",
  "offline",
  "unsupported",
  "timeout",
  "device_error",
]);
/** What happened to a command: `done` (the device confirmed or took it), `queued` (waits for the next inform), `failed`. */
export const ZDeviceCommandRecordSchema = z.strictObject({
  commandId: ZIdSchema,
  mac: ZMacSchema,
  command: z.enum(["adopt", "reboot", "locate", "rename", "setInterval"]),
  status: z.enum(["done", "queued", "failed"]),
  error: z.strictObject({ code: ZDeviceCommandErrorCodeSchema, message: z.string().max(200) }).optional(),
  accountId: ZIdSchema,
  at: ZEpochMs,
});
export type TDeviceCommandRecord = z.infer<typeof ZDeviceCommandRecordSchema>;

/**
 * `devices.get`: one device with interfaces, clients (the first 100, fewer when the rest of the
 * answer leaves no room; `clientsTotal` counts them all) and history.
 */
export const ZDevicesGetBodySchema = z.strictObject({
  mac: ZMacSchema,
  /** History window: up to 24 h; at most 240 points (coarser steps for long windows). */
  historyMinutes: z.number().int().min(1).max(1440).default(60),
});
export const ZDeviceDetailSchema = z.strictObject({
  summary: ZDeviceSummarySchema,
  interfaces: z
    .array(
      z.strictObject({
        name: zDeviceText(32),
        mac: ZMacSchema,
        up: z.boolean(),
        speedMbps: ZCount,
        rxBytes: ZCount,
        txBytes: ZCount,
      }),
    )
    .max(64),
  clients: z
    .array(
      z.strictObject({
        mac: ZMacSchema,
        ip: ZIpv4Schema.optional(),
        hostname: zDeviceText(64).optional(),
        signalDbm: z.number().int().min(-120).max(0).optional(),
        rxBytes: ZCount,
        txBytes: ZCount,
        uptime: ZCount,
      }),
    )
    .max(100),
  clientsTotal: ZCount,
  history: ZDeviceHistorySchema,
  /** The last commands sent to this device (newest first). */
  commands: z.array(ZDeviceCommandRecordSchema).max(20),
});
export type TDeviceDetail = z.infer<typeof ZDeviceDetailSchema>;

/** `devices.watch`: coalesced live updates every `intervalMs` (only when something changed). */
export const ZDevicesWatchBodySchema = z.strictObject({
  intervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** Only these devices (the rows on screen); without it every change is sent (or `resync`). */
  macs: z.array(ZMacSchema).max(100).optional(),
});
/**
 * Body of each `devices.changed` event. `resync` means too much changed: list again. `devices`
 * holds the changed rows that fit one E2E message; the others follow in the next ticks.
 */
export const ZDevicesChangedSchema = z.strictObject({
  at: ZEpochMs,
  devices: z.array(ZDeviceSummarySchema).max(100),
  removed: z.array(ZMacSchema).max(100),
  resync: z.boolean(),
  /** Status counts over the whole inventory, so list headers stay right without a resync. */
  counts: z.strictObject({ online: ZCount, offline: ZCount, pending: ZCount }),
});
export type TDevicesChanged = z.infer<typeof ZDevicesChangedSchema>;

/** One outage: a device silent for three intervals, until it reported again (`end`). */
export const ZOutageSchema = z.strictObject({ mac: ZMacSchema, start: ZEpochMs, end: ZEpochMs.nullable() });
export type TOutage = z.infer<typeof ZOutageSchema>;
/** `outages.list`: newest first. */
export const ZOutagesListBodySchema = z.strictObject({
  mac: ZMacSchema.optional(),
  ongoing: z.boolean().optional(),
  offset: z.number().int().min(0).max(1_000_000).default(0),
  limit: z.number().int().min(1).max(500).default(100),
});
export const ZOutagesListResultSchema = z.strictObject({ total: ZCount, outages: z.array(ZOutageSchema).max(500) });

/** `devices.adopt`: a pending UniFi device gets its own authkey with its next inform (setparam). */
export const ZDevicesAdoptBodySchema = z.strictObject({ mac: ZMacSchema });
export const ZDevicesRebootBodySchema = z.strictObject({ mac: ZMacSchema });
export const ZDevicesLocateBodySchema = z.strictObject({ mac: ZMacSchema, enabled: z.boolean() });
export const ZDevicesRenameBodySchema = z.strictObject({
  mac: ZMacSchema,
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/),
});
export const ZDevicesSetIntervalBodySchema = z.strictObject({
  mac: ZMacSchema,
  seconds: z.number().int().min(1).max(3600),
});

/** Ingestion counters: frames dropped by reason, per dialect; shown in `devices.stats` and `status`. */
export const ZDeviceCountersSchema = z.record(z.string().max(64), ZCount);
export const ZDevicesStatsResultSchema = z.strictObject({
  devices: z.strictObject({ online: ZCount, offline: ZCount, pending: ZCount }),
  counters: ZDeviceCountersSchema,
  store: z.strictObject({ logBytes: ZCount, records: ZCount, lastCompactionAt: ZEpochMs.nullable() }),
});

/** `siteKey.get` (admin): the current site key, sent only inside the E2E session. */
export const ZSiteKeyResultSchema = z.strictObject({
  siteKey: z.string().startsWith("veilsite1_").max(1024),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  createdAt: ZEpochMs,
  /** SHA-256 (hex) of the companion's device-channel certificate, also inside the site key. */
  certFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
});
/** `siteKey.roll` (admin): a new site key; the old one stays valid for `graceMinutes` (0 = revoked now). */
export const ZSiteKeyRollBodySchema = z.strictObject({ graceMinutes: z.number().int().min(0).max(10_080).default(0) });

const ZEmpty = z.strictObject({});
const ZSubscription = z.strictObject({ subscriptionId: ZIdSchema });

interface DeviceRequestSpec {
  readonly minRole: TRole;
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

/** The device requests, merged into REQUEST_CATALOGUE. */
export const DEVICE_REQUEST_CATALOGUE = {
  "devices.list": { minRole: "viewer", write: false, body: ZDevicesListBodySchema, result: ZDevicesListResultSchema },
  "devices.get": { minRole: "viewer", write: false, body: ZDevicesGetBodySchema, result: ZDeviceDetailSchema },
  "devices.watch": { minRole: "viewer", write: false, body: ZDevicesWatchBodySchema, result: ZSubscription },
  "devices.stats": { minRole: "viewer", write: false, body: ZEmpty, result: ZDevicesStatsResultSchema },
  "outages.list": { minRole: "viewer", write: false, body: ZOutagesListBodySchema, result: ZOutagesListResultSchema },
  "devices.adopt": {
    minRole: "operator",
    write: true,
    body: ZDevicesAdoptBodySchema,
    result: ZDeviceCommandRecordSchema,
  },
  "devices.reboot": {
    minRole: "operator",
    write: true,
    body: ZDevicesRebootBodySchema,
    result: ZDeviceCommandRecordSchema,
  },
  "devices.locate": {
    minRole: "operator",
    write: true,
    body: ZDevicesLocateBodySchema,
    result: ZDeviceCommandRecordSchema,
  },
  "devices.rename": {
    minRole: "operator",
    write: true,
    body: ZDevicesRenameBodySchema,
    result: ZDeviceCommandRecordSchema,
  },
  "devices.setInterval": {
    minRole: "operator",
    write: true,
    body: ZDevicesSetIntervalBodySchema,
    result: ZDeviceCommandRecordSchema,
  },
  "siteKey.get": { minRole: "admin", write: false, body: ZEmpty, result: ZSiteKeyResultSchema },
  "siteKey.roll": { minRole: "admin", write: true, body: ZSiteKeyRollBodySchema, result: ZSiteKeyResultSchema },
} as const satisfies Record<string, DeviceRequestSpec>;
