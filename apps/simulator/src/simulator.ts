/**
 * startSimulator: thousands of simulated devices in one process, each speaking UniFi inform or
 * Veil's channel, answering UBDP discovery and accepting adoption over HTTPS.
 */
import { decodeSiteKey, type InformCipher, type InformCompression, type SiteKey } from "@veil/devices";
import { startAdminServer, type AdminHandle } from "./admin-server";
import type { AdoptHandler } from "./admin-routes";
import { SimContext, type SimStats } from "./context";
import type { SimDevice } from "./device";
import { startDiscovery, type DiscoveryHandle } from "./discovery";
import { buildFleet } from "./fleet";
import { informAgents } from "./http-post";
import { ZSimulatorOptionsSchema, type SimulatorOptions } from "./options";
import { UnifiInformer } from "./unifi-informer";
import { VeilConnector } from "./veil-connector";

/** A running simulator. */
export interface SimulatorHandle {
  /** Every simulated device, in index order. */
  readonly devices: readonly SimDevice[];
  /** The device with this MAC, if any. */
  device(mac: string): SimDevice | undefined;
  /** Port of the HTTPS management API (0 when off). */
  readonly adminPort: number;
  /** UBDP port (0 when off) and the number of UDP sockets it uses. */
  readonly discoveryPort: number;
  readonly discoverySockets: number;
  /** Counters since start. */
  stats(): Readonly<SimStats>;
  /** SHA-256 hex fingerprint of a device's HTTPS certificate. */
  certificateFingerprint(mac: string): Promise<string>;
  /** Gives a device a new HTTPS certificate; returns the new fingerprint. */
  rotateCertificate(mac: string): Promise<string>;
  /** Stops every timer, socket and server; resolves when all are closed. */
  stop(): Promise<void>;
}

function formatFor(
  device: SimDevice,
  cipher: "gcm" | "cbc" | "mixed",
  compression: "zlib" | "snappy" | "none" | "mixed",
): { cipher: InformCipher; compression: InformCompression } {
  return {
    cipher: cipher === "mixed" ? device.prng.pick(["gcm", "gcm", "cbc"] as const) : cipher,
    compression: compression === "mixed" ? device.prng.pick(["zlib", "snappy", "none"] as const) : compression,
  };
}

/** Starts a simulator. Rejects (after cleaning up) if a socket cannot be bound. */
export async function startSimulator(options: SimulatorOptions): Promise<SimulatorHandle> {
  const opts = ZSimulatorOptionsSchema.parse(options);
  const now = options.clock ?? Date.now;
  const ctx = new SimContext(
    now,
    opts.timeScale,
    opts.rebootMs,
    opts.faultRate,
    options.log ?? (() => undefined),
    opts.ownSourceAddress,
    opts.terminalCredit,
  );
  const devices = buildFleet(opts, now());
  const byMac = new Map(devices.map((d) => [d.mac, d]));
  const informers = new Map<string, UnifiInformer>();
  const connectors = new Map<string, VeilConnector>();
  const spread = (d: SimDevice): number => d.prng.int(0, opts.startSpreadMs) * opts.timeScale;

  const startUnifi = (d: SimDevice, delay: number): void => {
    if (informers.has(d.mac)) return;
    const inf = new UnifiInformer(ctx, d, formatFor(d, opts.cipher, opts.compression));
    informers.set(d.mac, inf);
    inf.start(delay);
  };
  const startVeil = (d: SimDevice, siteKey: SiteKey, delay: number): void => {
    connectors.get(d.mac)?.close();
    const c = new VeilConnector(ctx, d, siteKey);
    connectors.set(d.mac, c);
    c.start(delay);
  };
  const onAdopt: AdoptHandler = (d, target) =>
    target.kind === "unifi" ? startUnifi(d, 0) : startVeil(d, target.siteKey, 0);

  const siteKey = opts.siteKey !== undefined ? decodeSiteKey(opts.siteKey) : undefined;
  for (const d of devices) {
    if (opts.informUrl !== undefined) {
      d.unifi.informUrl = opts.informUrl;
      startUnifi(d, spread(d));
    }
    if (siteKey) startVeil(d, siteKey, spread(d));
  }

  let admin: AdminHandle | undefined;
  let discovery: DiscoveryHandle | undefined;
  const stop = async (): Promise<void> => {
    ctx.stop();
    for (const c of connectors.values()) c.close();
    await Promise.all([admin?.stop(), discovery?.stop()]);
    informAgents.http.destroy();
    informAgents.https.destroy();
  };
  try {
    const mode = opts.discovery === "auto" ? (opts.devices <= 1000 ? "per-device" : "shared") : opts.discovery;
    if (mode !== "off") discovery = await startDiscovery(ctx, devices, mode, opts.discoveryPort, opts.discoveryHost);
    if (opts.admin) admin = await startAdminServer(ctx, devices, opts.adminHost, opts.adminPort, onAdopt);
  } catch (err) {
    await stop();
    throw err;
  }
  const need = (mac: string): SimDevice => {
    const d = byMac.get(mac);
    if (!d) throw new RangeError("no simulated device with that MAC");
    if (!admin) throw new Error("the management API is off");
    return d;
  };
  return {
    devices,
    device: (mac) => byMac.get(mac),
    adminPort: admin?.port ?? 0,
    discoveryPort: discovery?.port ?? 0,
    discoverySockets: discovery?.sockets ?? 0,
    stats: () => ({ ...ctx.stats }),
    certificateFingerprint: (mac) => {
      const d = need(mac);
      return admin ? admin.fingerprint(d) : Promise.reject(new Error("off"));
    },
    rotateCertificate: (mac) => {
      const d = need(mac);
      return admin ? admin.rotateCertificate(d) : Promise.reject(new Error("off"));
    },
    stop,
  };
}
