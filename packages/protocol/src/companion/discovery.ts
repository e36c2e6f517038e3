import { z } from "zod";
import { ZIdSchema, type TRole } from "../fields";
import { zDeviceText, ZIpv4Schema, ZMacSchema } from "../device/numbers";

/**
 * End-to-end requests of discovery and HTTPS adoption (issue 6). Browser ↔ companion only,
 * inside the Noise session. Scope (which addresses may be probed) is decided by the companion's
 * local configuration, never by the request: docs/COMPANION-VAULT.md.
 */

const ZEpochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ZFingerprint = z.string().regex(/^[0-9a-f]{64}$/);

/** Most hosts one scan (or one adoption / generation batch) may touch. */
export const MAX_SCAN_HOSTS = 1024;

/** A scan target: an IPv4 address, an IPv4 CIDR, or a host name (resolved, then every address checked). */
export const ZScanTargetSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:/-]+$/);

/** `discovery.start` (operator+): probe UBDP and HTTPS within the site's allowed scope. */
export const ZDiscoveryStartBodySchema = z.strictObject({
  /** Omitted: every range the companion's configuration allows (still at most 1,024 hosts). */
  targets: z.array(ZScanTargetSchema).min(1).max(16).optional(),
  durationMs: z.number().int().min(500).max(30_000).default(5000),
  /** Also send UBDP probes to 255.255.255.255 and 233.89.188.1. */
  broadcast: z.boolean().default(true),
  /** HTTPS probe: only hosts that answered UBDP, every host in scope, or none. */
  https: z.enum(["responders", "all", "off"]).default("responders"),
  maxResults: z.number().int().min(1).max(MAX_SCAN_HOSTS).default(MAX_SCAN_HOSTS),
});
export type TDiscoveryStartBody = z.infer<typeof ZDiscoveryStartBodySchema>;

/** Why a target is out of scope. */
export const ZScopeRefusalSchema = z.enum([
  "not_allowed",
  "loopback",
  "link_local",
  "metadata",
  "reserved",
  "ipv6",
  "unresolvable",
  "too_many_hosts",
  "malformed",
]);
export type TScopeRefusal = z.infer<typeof ZScopeRefusalSchema>;

/** Answer of `discovery.start`: a subscription of `discovery.results` events, or the refused targets. */
export const ZDiscoveryStartResultSchema = z.discriminatedUnion("status", [
  z.strictObject({ status: z.literal("started"), subscriptionId: ZIdSchema, hosts: ZCount }),
  z.strictObject({
    status: z.literal("refused"),
    refused: z.array(z.strictObject({ target: z.string().max(253), reason: ZScopeRefusalSchema })).max(64),
  }),
]);
export type TDiscoveryStartResult = z.infer<typeof ZDiscoveryStartResultSchema>;

/** One discovered device (a later result for the same MAC adds to an earlier one). */
export const ZDiscoveredDeviceSchema = z.strictObject({
  mac: ZMacSchema,
  ip: ZIpv4Schema,
  source: z.enum(["ubdp", "https"]),
  // Text a LAN device chose: control and bidi characters become U+FFFD (zDeviceText).
  model: zDeviceText(64),
  modelDisplay: zDeviceText(64),
  firmware: zDeviceText(64),
  hostname: zDeviceText(64),
  /** Adopted by this companion (pinned and adopted), or the device says it is no longer on defaults. */
  adopted: z.boolean(),
  /** SHA-256 (hex) of the device's HTTPS certificate, when the HTTPS probe answered. */
  certSha256: ZFingerprint.optional(),
  /** The certificate differs from the one pinned for this MAC. */
  certChanged: z.boolean().optional(),
  seenAt: ZEpochMs,
});
export type TDiscoveredDevice = z.infer<typeof ZDiscoveredDeviceSchema>;

/**
 * Body of each `discovery.results` event; the last one has `done: true`. At most 100 results,
 * and only as many as fit one E2E message: the rest follow in the next events.
 */
export const ZDiscoveryResultsEventSchema = z.strictObject({
  results: z.array(ZDiscoveredDeviceSchema).max(100),
  done: z.boolean(),
  stats: z.strictObject({ probesSent: ZCount, repliesAccepted: ZCount, repliesDropped: ZCount, httpsProbes: ZCount }),
  reason: z.enum(["running", "timeout", "cancelled", "limit"]),
});
export type TDiscoveryResultsEvent = z.infer<typeof ZDiscoveryResultsEventSchema>;

/** `discovery.cancel`: stops a scan of this session. */
export const ZDiscoveryCancelBodySchema = z.strictObject({ subscriptionId: ZIdSchema });
export const ZDiscoveryCancelResultSchema = z.strictObject({ cancelled: z.boolean() });

const ZUsername = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/);
/** Credentials typed in the browser, travelling end to end; used once. */
export const ZDeviceLoginSchema = z.strictObject({ username: ZUsername, password: z.string().min(1).max(128) });

/** A device picked for adoption or credential generation. */
export const ZDeviceTargetSchema = z.strictObject({
  mac: ZMacSchema,
  ip: ZIpv4Schema,
  /** HTTPS port of the device's management API. */
  port: z.number().int().min(1).max(65535).default(443),
  /**
   * The certificate (SHA-256, hex) the operator saw for this device in the scan. On first
   * contact (no pin yet) the device must present exactly this one, or it gets no request; with
   * `trustNewCertificate`, a changed certificate is re-pinned only when it is exactly this one.
   */
  certSha256: ZFingerprint.optional(),
});

/** `discovery.adopt` (operator+): log in over pinned HTTPS and install the site key or an inform URL. */
export const ZDiscoveryAdoptBodySchema = z.strictObject({
  devices: z
    .array(ZDeviceTargetSchema)
    .min(1)
    .max(MAX_SCAN_HOSTS)
    .refine((ds) => new Set(ds.map((d) => d.mac)).size === ds.length, "each device at most once"),
  credentials: z.union([z.strictObject({ login: ZDeviceLoginSchema }), z.strictObject({ vaultEntryId: ZIdSchema })]),
  /**
   * What the device is pointed at. Omitted: the site key of this companion (Veil's device
   * channel). `unifiInform`: this companion's UniFi inform URL with an authkey made for the
   * device, sent only in this pinned HTTPS request (never in an inform reply under the public
   * default key), so the device's first inform is already under its own key. `informUrl`:
   * another controller, no authkey.
   */
  install: z
    .union([
      z.strictObject({ siteKey: z.string().startsWith("veilsite1_").max(1024) }),
      z.strictObject({ unifiInform: z.literal(true) }),
      z.strictObject({ informUrl: z.url({ protocol: /^https?$/ }).max(256) }),
    ])
    .optional(),
  /** Seal the typed credentials into the vault (one entry per device); works while locked. */
  saveToVault: z.boolean().default(false),
  /**
   * Accept (and re-pin) a certificate that differs from the pinned one, for the devices whose
   * `certSha256` names the certificate they now present. Never with vault credentials.
   */
  trustNewCertificate: z.boolean().default(false),
});
export type TDiscoveryAdoptBody = z.infer<typeof ZDiscoveryAdoptBodySchema>;

/** Stable per-device error codes of adoption and credential generation. */
export const ZDeviceJobErrorSchema = z.enum([
  "out_of_scope",
  "unreachable",
  "certificate_changed",
  "mac_mismatch",
  "login_failed",
  "locked_out",
  "device_error",
  "vault_locked",
  "vault_entry_unusable",
  "several_accounts",
  "no_target",
  /** `unifiInform`: the inventory cannot take this MAC (full, a Veil device has it, or adopted and not pinned before). */
  "inventory_refused",
]);
export type TDeviceJobError = z.infer<typeof ZDeviceJobErrorSchema>;

/** Progress of one device in an adoption or generation job. */
export const ZDeviceJobProgressSchema = z.strictObject({
  mac: ZMacSchema,
  ip: ZIpv4Schema,
  status: z.enum(["done", "failed", "skipped"]),
  error: ZDeviceJobErrorSchema.optional(),
  certSha256: ZFingerprint.optional(),
  /** First contact: the certificate was pinned now. */
  pinned: z.boolean().optional(),
  /** A vault entry was written (id). */
  vaultEntryId: ZIdSchema.optional(),
});
export type TDeviceJobProgress = z.infer<typeof ZDeviceJobProgressSchema>;

/** Answer of a job request: the subscription that streams its progress. */
export const ZDeviceJobStartResultSchema = z.strictObject({ subscriptionId: ZIdSchema, total: ZCount });
/** Body of each `adoption.progress` / `vault.generate.progress` event; the last one has `done: true`. */
export const ZDeviceJobEventSchema = z.strictObject({
  results: z.array(ZDeviceJobProgressSchema).max(200),
  done: z.boolean(),
  counts: z.strictObject({ done: ZCount, failed: ZCount, skipped: ZCount, total: ZCount }),
});
export type TDeviceJobEvent = z.infer<typeof ZDeviceJobEventSchema>;

interface Spec {
  readonly minRole: TRole;
  readonly write: boolean;
  readonly body: z.ZodType;
  readonly result: z.ZodType;
}

/** Discovery and adoption requests, merged into REQUEST_CATALOGUE. */
export const DISCOVERY_REQUEST_CATALOGUE = {
  "discovery.start": {
    minRole: "operator",
    write: true,
    body: ZDiscoveryStartBodySchema,
    result: ZDiscoveryStartResultSchema,
  },
  "discovery.cancel": {
    minRole: "operator",
    write: true,
    body: ZDiscoveryCancelBodySchema,
    result: ZDiscoveryCancelResultSchema,
  },
  "discovery.adopt": {
    minRole: "operator",
    write: true,
    body: ZDiscoveryAdoptBodySchema,
    result: ZDeviceJobStartResultSchema,
  },
} as const satisfies Record<string, Spec>;
