/**
 * Shapes of the device inventory (see inventory.ts): one device entry, a site key, and the
 * bounds the inventory keeps its lists within.
 */
import type { TDeviceCommandRecord, TDeviceDialect, TDeviceState, TDeviceStatus, TOutage } from "../protocol";
import type { DeviceHistory } from "./history";

export const MINUTE = 60_000;
/** Outages kept (oldest dropped first). */
export const MAX_OUTAGES = 10_000;
/** Command records kept. */
export const MAX_COMMANDS = 2_000;
/** Changes remembered for live watchers. */
export const MAX_CHANGES = 50_000;
/** Full state written to the log at most this often per device (the snapshot has the latest). */
export const STATE_RECORD_EVERY_MS = 5 * MINUTE;

/** The device's current, still open minute (sums over its reports). */
export interface Bucket {
  m: number;
  cpu: number;
  mem: number;
  n: number;
  rx: number;
  tx: number;
  ms: number;
}

/** An authkey handed over HTTPS (DeviceEntry.handedAuthkeys). */
export interface HandedAuthkey {
  /** 32 hex. */
  readonly k: string;
  /** When it was made, ms since the epoch. */
  readonly at: number;
  /** SHA-256 (hex) of the certificate of the device it was handed to. */
  readonly fp: string;
}

/** Authkeys kept per device while none was used: a retried or repeated adoption does not strand the device. */
export const MAX_HANDED_AUTHKEYS = 4;

/** One device. Secrets (`authkey`, `veilKey`) never leave the companion. */
export interface DeviceEntry {
  readonly mac: string;
  dialect: TDeviceDialect;
  adopted: boolean;
  alias?: string;
  intervalSec: number;
  firstSeen: number;
  lastSeen: number;
  status: TDeviceStatus;
  state?: TDeviceState;
  /** UniFi: the adopted authkey (32 hex). */
  authkey?: string;
  /**
   * UniFi: the certificate (SHA-256 hex) of the device that was handed `authkey` over HTTPS;
   * undefined for a key that went the inform way. Only that device may be handed a new one.
   */
  authkeyCert?: string;
  /** UniFi: an authkey sent in setparam but not yet used by the device. */
  pendingAuthkey?: string;
  /**
   * UniFi: authkeys handed to the device over its pinned HTTPS API (`discovery.adopt` with
   * `unifiInform`), oldest first, at most MAX_HANDED_AUTHKEYS, with when each was made. Never
   * sent in an inform reply; the device's first inform under any of them adopts it.
   */
  handedAuthkeys?: HandedAuthkey[];
  /** Veil: the issued device key (key id hex, key base64url). */
  veilKey?: { id: string; k: string };
  history?: DeviceHistory;
  bucket?: Bucket;
  prev?: { rx: number; tx: number; at: number };
  outageStart?: number;
  stateSavedAt: number;
}

/** A site key (secret). */
export interface SiteKeyEntry {
  id: string;
  k: string;
  at: number;
  /** When set, the key is being rolled away and stops working at this time. */
  graceUntil?: number;
}

/** The data of an inventory that replay and snapshots read and write. */
export interface InventoryState {
  readonly devices: Map<string, DeviceEntry>;
  outages: TOutage[];
  commands: TDeviceCommandRecord[];
  siteKeys: SiteKeyEntry[];
}
