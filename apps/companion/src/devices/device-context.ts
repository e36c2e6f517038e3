/**
 * What the inform servers, commands and request handlers share: the inventory, counters,
 * flood limits, clock and configuration. Built once by startDeviceService.
 */
import type { Logger } from "../log";
import type { TDeviceDownMessage, TDeviceUpMessage, TUnifiReply } from "../protocol";
import type { DropCounters } from "./drop-counters";
import type { DeviceEntry, Inventory } from "./inventory";
import type { BucketLimit, KeyedTokenBuckets } from "./token-bucket";

/** Flood limits: per source IP (before any decryption) and per device (after authentication). */
export interface FloodLimits {
  readonly perIp: BucketLimit;
  readonly perDevice: BucketLimit;
  /** New WSS connections per source IP. */
  readonly connectionsPerIp: BucketLimit;
}

/** Defaults: generous for a real LAN (many devices behind one NAT look like one IP). */
export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  perIp: { ratePerSec: 500, burst: 1000 },
  perDevice: { ratePerSec: 5, burst: 20 },
  connectionsPerIp: { ratePerSec: 50, burst: 200 },
};

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
