/** Shared run-time of one simulator: clock, time scale, counters, tracked timers, logger. */

/** Counters a running simulator exposes through `stats()`. */
export interface SimStats {
  informsSent: number;
  informErrors: number;
  repliesApplied: number;
  channelSessions: number;
  /** Channel connections that closed before the hello was sent (refused, timed out, pin mismatch). */
  channelConnectFailures: number;
  channelFramesSent: number;
  channelErrors: number;
  pinFailures: number;
  commands: number;
  reboots: number;
  faults: number;
  ubdpReplies: number;
  adminRequests: number;
  adminLoginFailures: number;
  /** Veil terminal sessions open on the devices now. */
  terminalsOpen: number;
}

/** Run-time shared by every part of one simulator. */
export class SimContext {
  readonly stats: SimStats = {
    informsSent: 0,
    informErrors: 0,
    repliesApplied: 0,
    channelSessions: 0,
    channelConnectFailures: 0,
    channelFramesSent: 0,
    channelErrors: 0,
    pinFailures: 0,
    commands: 0,
    reboots: 0,
    faults: 0,
    ubdpReplies: 0,
    adminRequests: 0,
    adminLoginFailures: 0,
    terminalsOpen: 0,
  };
  stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    /** Milliseconds since the epoch, injectable. */
    readonly now: () => number,
    /** Multiplies every device-side delay (1 = real time; 0.05 makes a 10 s interval 0.5 s). */
    readonly scale: number,
    /** How long a simulated reboot keeps a device offline, before scaling. */
    readonly rebootMs: number,
    /** Probability per inform cycle that a device goes offline or reboots. */
    readonly faultRate: number,
    readonly log: (line: string) => void,
    /** Devices connect from their own loopback address (see the `ownSourceAddress` option). */
    readonly ownSourceAddress = true,
    /** Veil devices offer per-terminal flow control (off: firmware from before it). */
    readonly terminalCredit = true,
  ) {}

  /** setTimeout that stop() cancels; `ms` is already scaled by the caller. */
  schedule(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }

  /** Cancels every pending timer; nothing schedules afterwards. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
