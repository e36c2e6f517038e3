/**
 * What the inform servers, commands and request handlers share: the inventory, counters,
 * flood limits, clock and configuration. Built once by startDeviceService.
 */
import type { Logger } from "../log";
import type { TDeviceDownMessage, TDeviceUpMessage, TUnifiReply } from "../protocol";
import type { DropCounters } from "./drop-counters";
import type { DeviceEntry, Inventory } from "./inventory";
import type { BucketLimit, KeyedTokenBuckets } from "./token-bucket";

/**
 * Flood limits: per source (before any decryption) and per device (after authentication). A
 * source is an IPv4 address or an IPv6 /64 (`sourceKey`).
 */
export interface FloodLimits {
  /** Inform requests per source. */
  readonly perIp: BucketLimit;
  /** New inform (HTTP) connections per source: as many as requests, a device may not keep alive. */
  readonly informConnectionsPerIp: BucketLimit;
  readonly perDevice: BucketLimit;
  /** New WSS connections per source. */
  readonly connectionsPerIp: BucketLimit;
  /** KiB of decompressed inform payload per source, whatever the key. */
  readonly informKiBPerIp: BucketLimit;
  /** KiB of decompressed inform payload per source under the public default key. */
  readonly defaultKeyKiBPerIp: BucketLimit;
  /** Veil enrolments (site-key hellos that get a device key) per source. */
  readonly enrolmentsPerIp: BucketLimit;
  /** Veil enrolments per site key. */
  readonly enrolmentsPerSiteKey: BucketLimit;
}

const PER_HOUR = 1 / 3600;

/** Defaults: generous for a real LAN (many devices behind one NAT look like one IP). */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  perIp: { ratePerSec: 500, burst: 1000 },
  informConnectionsPerIp: { ratePerSec: 500, burst: 1000 },
  perDevice: { ratePerSec: 5, burst: 20 },
  connectionsPerIp: { ratePerSec: 50, burst: 200 },
  // 16 MiB/s: 500 informs/s of 32 KiB each, the request limit's worth of real informs.
  informKiBPerIp: { ratePerSec: 16 * 1024, burst: 32 * 1024 },
  // 512 KiB/s: fifty unadopted devices behind one address sending 100 KiB informs every 10 s.
  // Anyone can seal under the default key; this bounds what one source makes the parser do.
  defaultKeyKiBPerIp: { ratePerSec: 512, burst: 2048 },
  enrolmentsPerIp: { ratePerSec: 32 * PER_HOUR, burst: 32 },
  enrolmentsPerSiteKey: { ratePerSec: 1000 * PER_HOUR, burst: 1000 },
};

/** New pending (default-key) UniFi devices one source may have in the inventory at a time. */
export const DEFAULT_MAX_PENDING_PER_SOURCE = 32;

/** A UniFi reply waiting for the device's next inform. */
export interface QueuedReply {
  readonly reply: TUnifiReply;
  delivered(): void;
}

/** A live Veil channel session of an adopted device. */
export interface LiveChannel {
  send(message: TDeviceDownMessage): boolean;
  close(): void;
  /**
   * Stops (`on`) or resumes reading from the device for `holder`: reading stops while any holder
   * holds it, so the device's sends back up in its own TCP buffer (a terminal whose browser reads
   * slower than the device prints). Frames already read still arrive.
   */
  hold(holder: object, on: boolean): void;
  /**
   * Bytes of terminal output each terminal session of this device may have unacknowledged, when
   * the device offered per-terminal flow control (`terminal_ack` returns credit); undefined for a
   * device without it, whose terminals can only be slowed with `hold`.
   */
  readonly terminalWindow: number | undefined;
}

/** Where the Veil channel hands terminal traffic (the companion's terminal hub, src/terminal/). */
export interface TerminalSink {
  /** Bytes from a device's shell session; false when no open terminal has that session id. */
  data(mac: string, message: Extract<TDeviceUpMessage, { type: "terminal_data" }>): boolean;
  /** One live channel of a device closed (or was replaced): the terminals opened on it end. */
  channelClosed(mac: string, channel: LiveChannel): void;
  /**
   * Spends the terminal frame budget of a device with an open (or just closed) terminal:
   * `allowed`; `throttle` when that budget is spent (its terminal output is slowed, not dropped);
   * `refused` when the device has no terminal.
   */
  allowFrame(mac: string): "allowed" | "throttle" | "refused";
}

/** The shared run-time of the device side. */
export interface DeviceContext {
  readonly inventory: Inventory;
  readonly counters: DropCounters;
  readonly logger: Logger;
  readonly now: () => number;
  /** Interval (seconds) the companion asks devices to inform at, unless set per device. */
  readonly defaultIntervalSec: number;
  /** Test hook: multiplies device intervals (the simulator's timeScale). 1 in production. */
  readonly timeScale: number;
  readonly perIp: KeyedTokenBuckets;
  readonly perDevice: KeyedTokenBuckets;
  readonly connectionsPerIp: KeyedTokenBuckets;
  readonly informConnectionsPerIp: KeyedTokenBuckets;
  readonly informKiBPerIp: KeyedTokenBuckets;
  readonly defaultKeyKiBPerIp: KeyedTokenBuckets;
  readonly enrolmentsPerIp: KeyedTokenBuckets;
  readonly enrolmentsPerSiteKey: KeyedTokenBuckets;
  /** Pending (default-key, never adopted) UniFi devices one source may add to the inventory. */
  readonly maxPendingPerSource: number;
  /** Devices the inventory may hold; new MACs beyond it are refused (default-key floods). */
  readonly maxDevices: number;
  /** Adopt UniFi devices on the default key without an operator's `devices.adopt`. */
  readonly autoAdopt: boolean;
  /** UniFi replies queued per MAC. */
  readonly unifiQueue: Map<string, QueuedReply[]>;
  /** Live Veil sessions per MAC. */
  readonly channels: Map<string, LiveChannel>;
  /** Results of Veil commands by command id. */
  readonly commandWaiters: Map<string, (result: { ok: boolean; code?: string; message?: string }) => void>;
  /** Terminal traffic goes here once the first terminal opened (unset: terminal frames are dropped). */
  terminalSink?: TerminalSink;
  /** Called after a device reported (for watchers and status). */
  reported(d: DeviceEntry): void;
}
