/** Options of startSimulator, validated with zod; every field has a default but `devices`. */
import { z } from "zod";

const ZRatioSchema = z.number().min(0).max(1000);

/** The options schema (exported for the CLI, which parses its flags into it). */
export const ZSimulatorOptionsSchema = z.object({
  /** How many devices, 1–20,000. */
  devices: z.number().int().min(1).max(20_000),
  /** Seed of every random choice. */
  seed: z.number().int().min(0).max(0xffffffff).default(1),
  /** Relative mix of access points, switches and routers. */
  mix: z
    .object({ ap: ZRatioSchema, switch: ZRatioSchema, router: ZRatioSchema })
    .default({ ap: 6, switch: 3, router: 1 }),
  /** Every device informs here from the start, as after `set-inform <url>` (UniFi dialect). */
  informUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Every device connects with this `veilsite1_…` site key from the start (Veil channel). */
  siteKey: z.string().startsWith("veilsite1_").max(1024).optional(),
  /** Address of device 0; device i gets this plus i. Must be in 127.0.0.0/8 for local runs. */
  firstAddress: z.ipv4().default("127.0.0.2"),
  /** MAC prefix: `local` = 02:76:<seed> (locally administered), `ubiquiti` = 24:5a:4c. */
  macs: z.enum(["local", "ubiquiti"]).default("local"),
  /** UBDP responder mode; `auto` = per-device up to 1,000 devices, else shared. */
  discovery: z.enum(["auto", "off", "per-device", "shared"]).default("auto"),
  discoveryPort: z.number().int().min(0).max(65535).default(10001),
  /** Bind address of the shared UBDP socket. */
  discoveryHost: z.ipv4().default("127.0.0.1"),
  /** HTTPS management API (adoption); off with `false`. */
  admin: z.boolean().default(true),
  adminPort: z.number().int().min(0).max(65535).default(8443),
  /** One socket for all devices: 0.0.0.0 so every 127.x.y.z is reachable. */
  adminHost: z.ipv4().default("0.0.0.0"),
  /** Factory login of every device. */
  username: z.string().min(1).max(64).default("ubnt"),
  password: z.string().min(1).max(128).default("ubnt"),
  /** Probability per inform cycle of an outage or a reboot. */
  faultRate: z.number().min(0).max(1).default(0.001),
  /**
   * Each device informs and connects from its own 127.x.y.z, one connection per inform (as on a
   * LAN). Off: every device shares a keep-alive pool from the system's source address, which
   * costs the receiver far less per inform (the 10,000-device ingest benchmark needs it on two
   * cores).
   */
  ownSourceAddress: z.boolean().default(true),
  /**
   * Veil devices offer per-terminal flow control in their hello (`terminalCredit`). Off: they
   * play firmware from before it, whose terminals the companion can slow only by pausing the
   * device's whole channel.
   */
  terminalCredit: z.boolean().default(true),
  /** Multiplies every device-side delay: 0.05 turns a 10 s inform interval into 0.5 s. */
  timeScale: z.number().min(0.001).max(100).default(1),
  /** Simulated reboot duration before scaling. */
  rebootMs: z.number().int().min(0).max(600_000).default(30_000),
  /** First inform/connect is spread over this many ms (scaled) so devices do not all start at once. */
  startSpreadMs: z.number().int().min(0).max(600_000).default(10_000),
  /** Inform packet format: fixed, or `mixed` (drawn per device from the seed). */
  cipher: z.enum(["gcm", "cbc", "mixed"]).default("gcm"),
  compression: z.enum(["zlib", "snappy", "none", "mixed"]).default("zlib"),
});

/** What a caller passes. */
export type SimulatorOptions = z.input<typeof ZSimulatorOptionsSchema> & {
  /** Injectable clock (ms since the epoch). */
  clock?: () => number;
  /** Log sink; silent by default. */
  log?: (line: string) => void;
};
/** Options after defaults. */
export type ResolvedSimulatorOptions = z.output<typeof ZSimulatorOptionsSchema>;
