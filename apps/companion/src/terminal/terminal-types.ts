/** The terminal hub's caps, options and the records it produces (terminal-hub.ts). */
import type { Clock } from "../clock";
import type { DeviceService } from "../devices/device-service";
import type { BucketLimit } from "../devices/token-bucket";
import type { Logger } from "../log";
import {
  MAX_TERMINALS_PER_COMPANION,
  MAX_TERMINALS_PER_DEVICE,
  MAX_TERMINALS_PER_SESSION,
  TERMINAL_IDLE_TIMEOUT_MS,
  type TRole,
  type TTerminalCloseReason,
} from "../protocol";

/** Caps of the hub; tests shorten the idle timeout. */
export interface TerminalLimits {
  readonly perDevice: number;
  readonly perSession: number;
  readonly total: number;
  readonly idleTimeoutMs: number;
  /** Device frames per second while a terminal is open (the inform budget is far lower). */
  readonly frames: BucketLimit;
}

export const DEFAULT_TERMINAL_LIMITS: TerminalLimits = {
  perDevice: MAX_TERMINALS_PER_DEVICE,
  perSession: MAX_TERMINALS_PER_SESSION,
  total: MAX_TERMINALS_PER_COMPANION,
  idleTimeoutMs: TERMINAL_IDLE_TIMEOUT_MS,
  frames: { ratePerSec: 400, burst: 800 },
};

/** Options of {@link TerminalHub}. */
export interface TerminalHubOptions {
  devices: () => DeviceService | undefined;
  clock: Clock;
  logger: Logger;
  limits?: Partial<TerminalLimits>;
  /** Called when a terminal opens and when it closes (the companion's audit log; terminal-audit.ts). */
  record?: (event: TerminalEvent) => void;
}

/** A terminal opening or closing, for the audit log: who, which device, when, and the byte counts. */
export interface TerminalEvent {
  readonly phase: "open" | "close";
  readonly terminalId: string;
  readonly mac: string;
  readonly accountId: string;
  readonly role: TRole;
  /** Fingerprint of the grant's signer (pinned signer or delegated admin). */
  readonly signer: string | null;
  readonly openedAt: number;
  /** Close only. */
  readonly reason?: TTerminalCloseReason;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What a closed terminal amounted to (logged, and the last event the browser gets). */
export interface TerminalRecord {
  readonly terminalId: string;
  readonly mac: string;
  readonly accountId: string;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly reason: TTerminalCloseReason;
  readonly bytesIn: number;
  readonly bytesOut: number;
}
