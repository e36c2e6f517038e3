import { z } from "zod";

/**
 * The companion's configuration: the only module that reads `process.env` (lint rule). Values
 * are validated with zod; a bad value stops the start with a message naming the variable.
 *
 * VEIL_ENROLL is read once and then deleted from `process.env`, so no child process inherits
 * the enrollment secret.
 */
const ZEnvSchema = z.object({
  /** Folder holding config and secrets; must be 0700 and owned by the companion's user. */
  VEIL_STATE_DIR: z.string().min(1).max(4096).default("/var/lib/veil-companion"),
  /** The enrollment string, for `enroll` (never from argv). */
  VEIL_ENROLL: z.string().max(2048).optional(),
  /** Log level of the JSON logger. */
  VEIL_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Device side (inform servers, device store) in `run`: on or off. */
  VEIL_DEVICES: z.enum(["on", "off"]).default("on"),
  /** Address the inform servers bind. */
  VEIL_DEVICE_BIND: z.ipv4().or(z.literal("::")).default("0.0.0.0"),
  /** UniFi inform port (HTTP POST /inform); 0 = any free port. */
  VEIL_INFORM_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Veil device channel port (WSS /devices); 0 = any free port. */
  VEIL_DEVICE_CHANNEL_PORT: z.coerce.number().int().min(0).max(65535).default(8444),
  /** Host or address devices dial (goes into the site key); default: the first LAN IPv4. */
  VEIL_DEVICE_PUBLIC_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .optional(),
  /** Inform interval told to devices, seconds. */
  VEIL_INFORM_INTERVAL: z.coerce.number().int().min(1).max(3600).default(10),
  /** Adopt UniFi devices on the default key without an operator (off: `devices.adopt`). */
  VEIL_DEVICE_AUTO_ADOPT: z.enum(["true", "false"]).default("false"),
  /** IPv4 CIDRs discovery/adoption may reach (comma-separated); empty: this host's interface subnets. */
  VEIL_SCAN_RANGES: z
    .string()
    .max(4096)
    .regex(/^[0-9./,\s]*$/)
    .optional(),
});

/** Validated environment. */
export type CompanionEnv = z.infer<typeof ZEnvSchema>;

/** Reads, validates and returns the environment; removes VEIL_ENROLL from `process.env`. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): CompanionEnv {
  const result = ZEnvSchema.safeParse({
    VEIL_STATE_DIR: source.VEIL_STATE_DIR,
    VEIL_ENROLL: source.VEIL_ENROLL === "" ? undefined : source.VEIL_ENROLL,
    VEIL_LOG_LEVEL: source.VEIL_LOG_LEVEL === "" ? undefined : source.VEIL_LOG_LEVEL,
    VEIL_DEVICES: source.VEIL_DEVICES || undefined,
    VEIL_DEVICE_BIND: source.VEIL_DEVICE_BIND || undefined,
    VEIL_INFORM_PORT: source.VEIL_INFORM_PORT || undefined,
    VEIL_DEVICE_CHANNEL_PORT: source.VEIL_DEVICE_CHANNEL_PORT || undefined,
    VEIL_DEVICE_PUBLIC_HOST: source.VEIL_DEVICE_PUBLIC_HOST || undefined,
    VEIL_INFORM_INTERVAL: source.VEIL_INFORM_INTERVAL || undefined,
    VEIL_DEVICE_AUTO_ADOPT: source.VEIL_DEVICE_AUTO_ADOPT || undefined,
    VEIL_SCAN_RANGES: source.VEIL_SCAN_RANGES || undefined,
  });
  if (source === process.env) delete process.env.VEIL_ENROLL;
  if (!result.success) {
    const names = [...new Set(result.error.issues.map((i) => String(i.path[0])))].join(", ");
    throw new Error(`invalid environment: check ${names}`);
  }
  return result.data;
}
