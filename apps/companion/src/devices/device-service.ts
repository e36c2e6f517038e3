/**
 * The companion's device side: opens the device store (replaying snapshot + log), the TLS
 * identity and the site key, starts both inform servers, and runs one sweep timer that marks
 * devices offline after three missed intervals (opening outages), closes minute buckets,
 * expires rolled site keys, compacts the store and refreshes devices-status.json.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { encodeSiteKey } from "@veil/devices";
import type { UnifiHandover } from "../adoption/adopt-devices";
import { hostAddresses } from "../host-addresses";
import type { Logger } from "../log";
import { ZDeviceAdoptRequestSchema } from "../protocol";
import { writeSecretFile } from "../state/write-secret-file";
import {
  DEFAULT_FLOOD_LIMITS,
  DEFAULT_MAX_PENDING_PER_SOURCE,
  type DeviceContext,
  type FloodLimits,
} from "./device-context";
import { DropCounters } from "./drop-counters";
import { UnifiIngest } from "./ingest-unifi";
import { Inventory, type DeviceEntry, type SiteKeyEntry } from "./inventory";
import { AppendStore } from "./store/append-store";
import { loadOrCreateTlsIdentity, type TlsIdentity } from "./tls-identity";
import { KeyedTokenBuckets } from "./token-bucket";
import { startUnifiInformServer, type InformServerLimits, type UnifiInformServer } from "./unifi-inform-server";
import { startVeilChannelServer, type ChannelServerLimits, type VeilChannelServer } from "./veil-channel-server";
import { tuneHeapForInventory } from "./heap-tuning";

/** Options of {@link startDeviceService}. */
/** Devices one companion's inventory holds at most, unless configured otherwise. */
const DEFAULT_MAX_DEVICES = 20_000;

export interface DeviceServiceOptions {
  readonly stateDir: string;
  readonly logger: Logger;
  /** Address both servers bind. */
  readonly bindHost: string;
  /** UniFi inform port (HTTP); 0 = any free port. */
  readonly informPort: number;
  /** Veil device channel port (WSS); 0 = any free port. */
  readonly channelPort: number;
  /** Host name or address devices use to reach the companion (site key URL). */
  readonly publicHost?: string;
  /** Inform interval told to new devices, seconds. */
  readonly intervalSec?: number;
  readonly autoAdopt?: boolean;
  readonly limits?: Partial<FloodLimits>;
  readonly maxDevices?: number;
  /** Pending UniFi devices one source may add (default DEFAULT_MAX_PENDING_PER_SOURCE). */
  readonly maxPendingPerSource?: number;
  /** Inform server socket limits and timeouts (tests shorten them). */
  readonly informServer?: Partial<InformServerLimits>;
  /** Device channel socket limits and timeouts (tests shorten them). */
  readonly channelServer?: Partial<ChannelServerLimits>;
  readonly maxInformBytes?: number;
  /** Extra silence beyond three intervals before a device counts as offline. */
  readonly offlineGraceMs?: number;
  /** Test hook: the simulator's timeScale (device intervals are multiplied by it). */
  readonly timeScale?: number;
  readonly syncIntervalMs?: number;
  readonly sweepMs?: number;
  /** Compact when the log passes this size … */
  readonly compactLogBytes?: number;
  /** … or this long after the last compaction. */
  readonly compactEveryMs?: number;
  readonly commandTimeoutMs?: number;
  readonly now?: () => number;
}

/** A running device side. */
export interface DeviceService {
  readonly ctx: DeviceContext;
  readonly ingest: UnifiIngest;
  readonly informPort: number;
  readonly channelPort: number;
  readonly tls: TlsIdentity;
  readonly store: AppendStore;
  readonly commandTimeoutMs: number;
  /** The current site key text (secret). */
  siteKey(): { text: string; entry: SiteKeyEntry };
  /**
   * What a UniFi device adopted over its pinned HTTPS API is sent: this companion's inform URL
   * and a fresh authkey (UnifiIngest.handOverAuthkey). Undefined when the URL is longer than a
   * device takes (a very long public host name).
   */
  readonly unifiHandover: UnifiHandover | undefined;
  /** Makes a new site key; the old one works for `graceMs` more (0 = revoked now). */
  rollSiteKey(graceMs: number): { text: string; entry: SiteKeyEntry };
  /** The offline threshold of one device, ms. */
  offlineAfterMs(d: DeviceEntry): number;
  /** Runs the sweep now (tests). */
  sweep(): void;
  /** Compacts the store now, in the background (resolves when done; failures are counted, not thrown). */
  compact(): Promise<void>;
  close(): Promise<void>;
}

/** File with the counters, refreshed by the sweep, read by `status`. */
export const DEVICES_STATUS_FILE = "devices-status.json";

function defaultPublicHost(bindHost: string, logger: Logger): string {
  if (bindHost !== "0.0.0.0" && bindHost !== "::") return bindHost;
  const addresses = hostAddresses((error) =>
    logger.warn("devices: cannot list this host's interfaces; set VEIL_DEVICE_PUBLIC_HOST", {
      error: error instanceof Error ? error.message : "unknown",
    }),
  );
  for (const a of addresses) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

/** Starts the device side. Rejects if a port cannot be bound (after closing what opened). */
export async function startDeviceService(o: DeviceServiceOptions): Promise<DeviceService> {
  tuneHeapForInventory();
  const now = o.now ?? Date.now;
  const logger = o.logger;
  const intervalSec = o.intervalSec ?? 10;
  const timeScale = o.timeScale ?? 1;
  const limits = { ...DEFAULT_FLOOD_LIMITS, ...o.limits };
  const opened = AppendStore.open({ dir: o.stateDir, name: "devices", syncIntervalMs: o.syncIntervalMs ?? 500, now });
  const store = opened.store;
  const inventory = new Inventory(intervalSec);
  for (const r of opened.records) inventory.apply(r);
  inventory.attach(store);
  if (opened.truncatedBytes > 0) logger.warn("device store: torn tail truncated", { bytes: opened.truncatedBytes });
  logger.info("device store opened", { devices: inventory.devices.size, records: opened.records.length });
  const tls = await loadOrCreateTlsIdentity(o.stateDir);
  const counters = new DropCounters();
  const ctx: DeviceContext = {
    inventory,
    counters,
    logger,
    now,
    defaultIntervalSec: intervalSec,
    timeScale,
    perIp: new KeyedTokenBuckets(limits.perIp, now),
    perDevice: new KeyedTokenBuckets(limits.perDevice, now),
    connectionsPerIp: new KeyedTokenBuckets(limits.connectionsPerIp, now),
    informConnectionsPerIp: new KeyedTokenBuckets(limits.informConnectionsPerIp, now),
    informKiBPerIp: new KeyedTokenBuckets(limits.informKiBPerIp, now),
    defaultKeyKiBPerIp: new KeyedTokenBuckets(limits.defaultKeyKiBPerIp, now),
    enrolmentsPerIp: new KeyedTokenBuckets(limits.enrolmentsPerIp, now),
    // A site key may enrol a whole inventory at once (a roll-out); the inventory cap and the
    // eviction of enrolments never heard from again bound what a leaked key can fill.
    enrolmentsPerSiteKey: new KeyedTokenBuckets(
      {
        ...limits.enrolmentsPerSiteKey,
        burst: Math.max(limits.enrolmentsPerSiteKey.burst, o.maxDevices ?? DEFAULT_MAX_DEVICES),
      },
      now,
    ),
    maxPendingPerSource: o.maxPendingPerSource ?? DEFAULT_MAX_PENDING_PER_SOURCE,
    maxDevices: o.maxDevices ?? DEFAULT_MAX_DEVICES,
    autoAdopt: o.autoAdopt ?? false,
    unifiQueue: new Map(),
    channels: new Map(),
    commandWaiters: new Map(),
    reported: () => undefined,
  };
  const ingest = new UnifiIngest(ctx);
  let unifi: UnifiInformServer | undefined;
  let veil: VeilChannelServer | undefined;
  try {
    unifi = await startUnifiInformServer(ctx, ingest, {
      host: o.bindHost,
      port: o.informPort,
      maxBodyBytes: o.maxInformBytes ?? 256 * 1024,
      ...o.informServer,
    });
    veil = await startVeilChannelServer(ctx, tls, { host: o.bindHost, port: o.channelPort, ...o.channelServer });
  } catch (error) {
    await unifi?.close();
    store.close();
    throw error;
  }
  const channelPort = veil.port;
  const publicHost = o.publicHost ?? defaultPublicHost(o.bindHost, logger);
  const urlHost = publicHost.includes(":") && !publicHost.startsWith("[") ? `[${publicHost}]` : publicHost;
  const siteKeyText = (entry: SiteKeyEntry): string =>
    encodeSiteKey({
      url: `wss://${urlHost}:${channelPort}/devices`,
      keyId: new Uint8Array(Buffer.from(entry.id, "hex")),
      key: new Uint8Array(Buffer.from(entry.k, "base64url")),
      certFingerprint: new Uint8Array(Buffer.from(tls.fingerprint, "hex")),
    });
  const newSiteKey = (): SiteKeyEntry => {
    const entry: SiteKeyEntry = {
      id: randomBytes(8).toString("hex"),
      k: randomBytes(32).toString("base64url"),
      at: now(),
    };
    inventory.saveSiteKey(entry);
    return entry;
  };
  const currentSiteKey = (): SiteKeyEntry =>
    inventory.siteKeys.filter((s) => s.graceUntil === undefined).at(-1) ?? newSiteKey();
  currentSiteKey();

  const offlineAfterMs = (d: DeviceEntry): number => 3 * d.intervalSec * 1000 * timeScale + (o.offlineGraceMs ?? 2000);
  let lastStatusWrite = 0;
  const sweep = (): void => {
    const t = now();
    const minute = Math.floor(t / 60_000);
    for (const d of inventory.devices.values()) {
      if (d.bucket && d.bucket.m < minute) inventory.closeBucket(d);
      if (!d.adopted) {
        if (d.status !== "pending") {
          d.status = "pending";
          inventory.touch(d.mac);
        }
        continue;
      }
      const silent = t - d.lastSeen > offlineAfterMs(d);
      if (silent && d.outageStart === undefined) inventory.startOutage(d, d.lastSeen);
      else if (silent && d.status !== "offline") {
        d.status = "offline";
        inventory.touch(d.mac);
      } else if (!silent && d.outageStart === undefined && d.status !== "online") {
        d.status = "online";
        inventory.touch(d.mac);
      }
    }
    for (const s of inventory.siteKeys)
      if (s.graceUntil !== undefined && s.graceUntil <= t) inventory.removeSiteKey(s.id);
    const sinceCompaction = t - (store.lastCompactionAt ?? 0);
    if (
      store.compacting === null &&
      (store.logBytes > (o.compactLogBytes ?? 64 * 1024 * 1024) ||
        (store.records > 0 && sinceCompaction > (o.compactEveryMs ?? 15 * 60_000)))
    )
      void compact();
    if (t - lastStatusWrite >= 10_000) {
      lastStatusWrite = t;
      try {
        writeSecretFile(
          join(o.stateDir, DEVICES_STATUS_FILE),
          JSON.stringify({
            version: 1,
            updatedAt: t,
            informPort: unifi?.port ?? 0,
            channelPort,
            counters: counters.toJSON(),
          }),
        );
      } catch {
        counters.add("store.status_write_failed");
      }
    }
  };
  const compactionFailed = (error: unknown): void => {
    counters.add("store.compaction_failed");
    logger.error("device store compaction failed", { error: error instanceof Error ? error.name : "unknown" });
  };
  // Off the hot path: the log rotates at once, the snapshot is written in slices between informs.
  const compact = (): Promise<void> =>
    store.compacting?.catch(() => undefined) ??
    store
      .compactInBackground(inventory.snapshotRecords(now()))
      .then(() => counters.add("store.compactions"), compactionFailed);
  sweep();
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (error) {
      logger.error("device sweep failed", { error: error instanceof Error ? error.name : "unknown" });
    }
  }, o.sweepMs ?? 1000);
  timer.unref();
  logger.info("device servers listening", { informPort: unifi.port, channelPort });
  const informUrl = `http://${urlHost}:${unifi.port}/inform`;
  const u = unifi;
  const v = veil;
  return {
    ctx,
    ingest,
    informPort: u.port,
    channelPort,
    tls,
    store,
    commandTimeoutMs: o.commandTimeoutMs ?? 5000,
    siteKey: () => {
      const entry = currentSiteKey();
      return { text: siteKeyText(entry), entry };
    },
    // Only what devices take (ZDeviceAdoptRequestSchema): a very long host name does not fit.
    unifiHandover: !ZDeviceAdoptRequestSchema.safeParse({ informUrl }).success
      ? undefined
      : {
          informUrl,
          mayHandOver: (mac, fp) => ingest.mayHandOver(mac, fp),
          handOver: (mac, fp) => ingest.handOverAuthkey(mac, fp),
        },
    rollSiteKey: (graceMs) => {
      const t = now();
      for (const s of inventory.siteKeys.filter((x) => x.graceUntil === undefined)) {
        if (graceMs > 0) inventory.saveSiteKey({ ...s, graceUntil: t + graceMs });
        else inventory.removeSiteKey(s.id);
      }
      const entry = newSiteKey();
      return { text: siteKeyText(entry), entry };
    },
    offlineAfterMs,
    sweep,
    compact,
    close: async () => {
      clearInterval(timer);
      for (const w of ctx.commandWaiters.values()) w({ ok: false, code: "timeout" });
      await Promise.all([u.close(), v.close()]);
      // Keep the partial minute: its sample goes into the final snapshot.
      for (const d of inventory.devices.values()) inventory.closeBucket(d);
      await store.compacting?.catch(() => undefined); // the final compaction below is in one go
      try {
        store.compact(inventory.snapshotRecords(now()));
        counters.add("store.compactions");
      } catch (error) {
        compactionFailed(error);
      }
      store.close();
    },
  };
}
