/**
 * Device terminals for browsers: each one is a push stream of the E2E session that opened it,
 * bridged to a shell session on one device's Veil channel (`terminal-open`, `terminal_data`,
 * `terminal-resize`, `terminal-close`). Never SSH: the companion only relays bytes between two
 * authenticated, encrypted channels. Output goes to the browser as it arrives (frames that
 * arrive in the same I/O turn share one event). While the stream holds events it could not send
 * yet (the browser has not taken what went before), a fast printer waits for the slow browser
 * instead of overflowing: a device that offered per-terminal flow control gets no more credit
 * for that terminal (`terminal_ack`), so only that shell waits; from a device without it the
 * hub stops reading altogether (its whole channel waits). A terminal ends when the browser
 * closes it, the shell exits, the E2E session ends, the device's channel closes, or it idles too
 * long; each open and close is logged with who, which device and the byte counts.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { LiveChannel, TerminalSink } from "../devices/device-context";
import { KeyedTokenBuckets } from "../devices/token-bucket";
import { RequestRefusedError } from "../e2e/dispatch-request";
import type { EventStream, RequestContext, StreamStopReason } from "../e2e/request-context";
import {
  MAX_TERMINAL_INPUT_BYTES,
  MAX_TERMINAL_OUTPUT_BYTES,
  type TDeviceUpMessage,
  type TRole,
  type TTerminalCloseReason,
  type TTerminalOpenBody,
  type TTerminalOutputEvent,
} from "../protocol";
import { sendTerminalCommand } from "./terminal-command";
import {
  DEFAULT_TERMINAL_LIMITS,
  type TerminalEvent,
  type TerminalHubOptions,
  type TerminalLimits,
  type TerminalRecord,
} from "./terminal-types";

export {
  DEFAULT_TERMINAL_LIMITS,
  type TerminalEvent,
  type TerminalHubOptions,
  type TerminalLimits,
  type TerminalRecord,
} from "./terminal-types";

interface OpenTerminal {
  readonly id: string;
  readonly deviceSession: string;
  readonly mac: string;
  readonly accountId: string;
  readonly role: TRole;
  readonly signer: string | null;
  readonly sessionId: string;
  readonly channel: LiveChannel;
  readonly openedAt: number;
  readonly stream: EventStream;
  bytesIn: number;
  bytesOut: number;
  lastActivity: number;
  idleTimer: unknown;
  pending: Buffer[];
  /** A flush of `pending` is scheduled; `#flush` is pushing events now (credit follows after). */
  flushing: boolean;
  pushing: boolean;
  /** The browser has not taken what was sent (flow control): no credit, or no reading from the device. */
  holding: boolean;
  /** Output bytes received and not yet acknowledged to a device with per-terminal flow control. */
  unacked: number;
  /** The device accepted `terminal-open` (an open record was written). */
  opened: boolean;
  closed: boolean;
}

/** How long after a terminal closed its device's late output still spends the terminal budget. */
const CLOSED_DRAIN_MS = 10_000;

const STOP_REASONS: Record<StreamStopReason, TTerminalCloseReason> = {
  ended: "closed",
  cancelled: "closed",
  session_closed: "session_closed",
  refused: "device_refused",
  overflow: "overflow",
};

/** The terminals of one companion. */
export class TerminalHub implements TerminalSink {
  readonly #o: TerminalHubOptions;
  readonly #limits: TerminalLimits;
  readonly #byId = new Map<string, OpenTerminal>();
  readonly #byDeviceSession = new Map<string, OpenTerminal>();
  readonly #frames: KeyedTokenBuckets;
  /** Closed-terminal records, newest last, for `status` and tests (bounded). */
  readonly closedRecords: TerminalRecord[] = [];

  constructor(options: TerminalHubOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_TERMINAL_LIMITS, ...options.limits };
    this.#frames = new KeyedTokenBuckets(this.#limits.frames, () => options.clock.now(), 1024);
  }

  /** Open terminals. */
  get size(): number {
    return this.#byId.size;
  }

  /** `terminal.open`: checks the device, opens the shell on it, returns the stream id. */
  async open(body: TTerminalOpenBody, ctx: RequestContext): Promise<{ subscriptionId: string; mac: string }> {
    const service = this.#o.devices();
    if (ctx.stream === undefined || ctx.sessionId === undefined || service === undefined)
      throw new RequestRefusedError("unavailable", "The companion's device side is not running.");
    const d = service.ctx.inventory.devices.get(body.mac);
    if (d === undefined) throw new RequestRefusedError("bad_request", "No device with this MAC on this site.");
    if (d.dialect !== "veil")
      throw new RequestRefusedError(
        "unavailable",
        "This device speaks UniFi inform, which carries no terminal; only devices on Veil's device channel offer one.",
      );
    if (!d.adopted) throw new RequestRefusedError("unavailable", "The device is not adopted yet.");
    const channel = service.ctx.channels.get(body.mac);
    if (channel === undefined) throw new RequestRefusedError("unavailable", "The device is offline.");
    const all = [...this.#byId.values()];
    if (all.length >= this.#limits.total)
      throw new RequestRefusedError("rate_limited", "Too many terminals are open on this site.");
    if (all.filter((t) => t.mac === body.mac).length >= this.#limits.perDevice)
      throw new RequestRefusedError("rate_limited", "Too many terminals are open on this device.");
    if (all.filter((t) => t.sessionId === ctx.sessionId).length >= this.#limits.perSession)
      throw new RequestRefusedError("too_many_subscriptions", "Too many terminals are open in this session.");
    // Terminals are named by their request id, which the browser picks: an id already naming an
    // open terminal (another session's, or a repeat) is refused, never overwritten.
    if (this.#byId.has(ctx.requestId))
      throw new RequestRefusedError("bad_request", "A terminal with this request id is already open.");
    service.ctx.terminalSink = this;

    const sessionId = ctx.sessionId;
    // The stream is named by the request id, and so is the terminal.
    const stream = ctx.stream({
      type: "terminal.output",
      onStop: (reason) => {
        const open = this.#byId.get(ctx.requestId);
        if (open !== undefined) this.#close(open, STOP_REASONS[reason]);
      },
      onDrained: () => {
        const open = this.#byId.get(ctx.requestId);
        if (open !== undefined) this.#hold(open, false);
      },
    });
    const now = this.#o.clock.now();
    const t: OpenTerminal = {
      id: stream.id,
      deviceSession: randomBytes(12).toString("base64url"),
      mac: body.mac,
      accountId: ctx.grant.accountId,
      role: ctx.grant.role,
      signer: ctx.grant.signerFingerprint ?? null,
      sessionId,
      channel,
      openedAt: now,
      stream,
      bytesIn: 0,
      bytesOut: 0,
      lastActivity: now,
      idleTimer: undefined,
      pending: [],
      flushing: false,
      pushing: false,
      holding: false,
      unacked: 0,
      opened: false,
      closed: false,
    };
    this.#byId.set(t.id, t);
    this.#byDeviceSession.set(t.deviceSession, t);
    const result = await sendTerminalCommand(service, channel, {
      name: "terminal-open",
      sessionId: t.deviceSession,
      cols: body.cols,
      rows: body.rows,
    });
    if (!result.ok) {
      this.#close(t, "device_refused");
      throw new RequestRefusedError(
        "unavailable",
        result.code === "timeout" ? "The device did not answer in time." : "The device refused the terminal.",
      );
    }
    // The session ended, or the device printed too much, while it answered: already closed.
    if (t.closed) throw new RequestRefusedError("unavailable", "The terminal ended before it opened (see its record).");
    t.opened = true;
    this.#armIdle(t);
    this.#o.logger.info("terminal opened", { terminalId: t.id, mac: t.mac, accountId: t.accountId, sessionId });
    this.#record(t, "open");
    return { subscriptionId: t.id, mac: t.mac };
  }

  /** `terminal.input`: keystrokes to the device. */
  input(subscriptionId: string, data: string, ctx: RequestContext): { accepted: number } {
    const t = this.#own(subscriptionId, ctx);
    const bytes = Buffer.from(data, "base64url");
    if (bytes.length === 0 || bytes.length > MAX_TERMINAL_INPUT_BYTES)
      throw new RequestRefusedError("bad_request", `Send 1 to ${MAX_TERMINAL_INPUT_BYTES} bytes per input.`);
    if (!t.channel.send({ type: "terminal_data", sessionId: t.deviceSession, data })) {
      this.#close(t, "device_offline");
      throw new RequestRefusedError("unavailable", "The device is offline.");
    }
    t.bytesIn += bytes.length;
    t.lastActivity = this.#o.clock.now();
    return { accepted: bytes.length };
  }

  /** `terminal.resize`: tells the device's shell the new window size. */
  async resize(subscriptionId: string, cols: number, rows: number, ctx: RequestContext): Promise<{ resized: boolean }> {
    const t = this.#own(subscriptionId, ctx);
    const service = this.#o.devices();
    if (service === undefined) return { resized: false };
    const r = await sendTerminalCommand(service, t.channel, {
      name: "terminal-resize",
      sessionId: t.deviceSession,
      cols,
      rows,
    });
    return { resized: r.ok };
  }

  /** `terminal.close`: ends a terminal of this session. */
  close(subscriptionId: string, ctx: RequestContext): { closed: boolean } {
    const t = this.#byId.get(subscriptionId);
    if (t === undefined || t.sessionId !== ctx.sessionId) return { closed: false };
    this.#close(t, "closed");
    return { closed: true };
  }

  data(mac: string, message: Extract<TDeviceUpMessage, { type: "terminal_data" }>): boolean {
    const t = this.#byDeviceSession.get(message.sessionId);
    if (t === undefined || t.mac !== mac || t.closed) return false;
    const bytes = Buffer.from(message.data, "base64url");
    const window = t.channel.terminalWindow;
    if (window !== undefined && (t.unacked += bytes.length) > window) {
      // The device offered flow control and ignores it: this terminal ends, the channel stays.
      this.#o.logger.warn("terminal output over its window", { terminalId: t.id, mac, window });
      this.#close(t, "overflow");
      return true;
    }
    t.bytesOut += bytes.length;
    t.lastActivity = this.#o.clock.now();
    if (bytes.length > 0) t.pending.push(bytes);
    if (message.eof === true) {
      this.#close(t, "exited");
      return true;
    }
    // While the browser is behind, output waits here (within the window) rather than as events.
    if (!t.holding) this.#scheduleFlush(t);
    return true;
  }

  channelClosed(mac: string, channel: LiveChannel): void {
    for (const t of [...this.#byId.values()])
      if (t.mac === mac && t.channel === channel) this.#close(t, "device_offline");
  }

  allowFrame(mac: string): "allowed" | "throttle" | "refused" {
    // What the device printed before its terminal closed may still be on its way (a terminal
    // ended for a browser that stopped reading leaves the device's buffers full): for a short
    // while it spends the terminal budget, not the far lower inform budget.
    const now = this.#o.clock.now();
    let terminal = this.closedRecords.some((r) => r.mac === mac && now - r.closedAt < CLOSED_DRAIN_MS);
    for (const t of this.#byId.values()) terminal ||= t.mac === mac;
    if (!terminal) return "refused";
    return this.#frames.take(mac) ? "allowed" : "throttle";
  }

  /** Closes every terminal (companion shutdown). */
  closeAll(): void {
    for (const t of [...this.#byId.values()]) this.#close(t, "session_closed");
  }

  #own(subscriptionId: string, ctx: RequestContext): OpenTerminal {
    const t = this.#byId.get(subscriptionId);
    // Another session's terminal is indistinguishable from none.
    if (t === undefined || t.sessionId !== ctx.sessionId || t.closed)
      throw new RequestRefusedError("bad_request", "No such terminal in this session.");
    return t;
  }

  #scheduleFlush(t: OpenTerminal): void {
    if (!t.flushing) setImmediate(() => this.#flush(t));
    t.flushing = true;
  }

  #flush(t: OpenTerminal): void {
    t.flushing = false;
    if (t.pending.length === 0 || t.stream.ended) return;
    const all = Buffer.concat(t.pending);
    t.pending = [];
    t.pushing = true;
    try {
      for (let at = 0; at < all.length; at += MAX_TERMINAL_OUTPUT_BYTES) {
        const chunk = all.subarray(at, at + MAX_TERMINAL_OUTPUT_BYTES);
        const event: TTerminalOutputEvent = { kind: "data", data: chunk.toString("base64url") };
        if (!t.stream.push(event)) return this.#close(t, "overflow");
      }
    } finally {
      t.pushing = false;
    }
    // What the stream could not send yet waits for the browser: the device waits too.
    if (t.stream.waiting > 0) this.#hold(t, true);
    else this.#credit(t);
  }

  /**
   * Makes the device wait for the browser (`on`) or go on: by withholding credit, or by not reading
   * a device without flow control (LiveChannel.hold); not before it answered terminal-open (the
   * answer would not be read): its output goes on into the stream, whose queue limit bounds it.
   */
  #hold(t: OpenTerminal, on: boolean): void {
    const unpausable = !t.opened && t.channel.terminalWindow === undefined;
    if (t.holding === on || (on && (t.closed || unpausable))) return;
    t.holding = on;
    if (t.channel.terminalWindow === undefined) t.channel.hold(t, on);
    if (on) return;
    // Released: what arrived meanwhile goes out first; credit follows what was pushed.
    if (t.pending.length > 0) this.#scheduleFlush(t);
    else if (!t.pushing) this.#credit(t);
  }

  /** Returns credit for the output taken, a quarter window at a time, unless the browser is behind. */
  #credit(t: OpenTerminal): void {
    const window = t.channel.terminalWindow;
    if (window === undefined || t.holding || t.closed || t.unacked < window / 4) return;
    t.channel.send({ type: "terminal_ack", sessionId: t.deviceSession, bytes: t.unacked });
    t.unacked = 0;
  }

  #armIdle(t: OpenTerminal): void {
    const clock = this.#o.clock;
    const wait = Math.max(1, t.lastActivity + this.#limits.idleTimeoutMs - clock.now());
    t.idleTimer = clock.setTimeout(() => {
      t.idleTimer = undefined;
      if (t.closed) return;
      if (clock.now() - t.lastActivity >= this.#limits.idleTimeoutMs) this.#close(t, "idle");
      else this.#armIdle(t);
    }, wait);
  }

  #close(t: OpenTerminal, reason: TTerminalCloseReason): void {
    if (t.closed) return;
    t.closed = true; // before the last flush: an overflow in it must not close twice
    this.#flush(t);
    this.#hold(t, false);
    if (t.idleTimer !== undefined) this.#o.clock.clearTimeout(t.idleTimer);
    this.#byId.delete(t.id);
    this.#byDeviceSession.delete(t.deviceSession);
    if (reason !== "device_offline" && reason !== "exited") {
      // Best effort: the device drops the shell; its result needs no waiter.
      t.channel.send({
        type: "command",
        id: randomUUID(),
        command: { name: "terminal-close", sessionId: t.deviceSession },
      });
    }
    const record: TerminalRecord = {
      terminalId: t.id,
      mac: t.mac,
      accountId: t.accountId,
      openedAt: t.openedAt,
      closedAt: this.#o.clock.now(),
      reason,
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
    };
    if (!t.stream.ended) {
      const last: TTerminalOutputEvent = { kind: "closed", reason, bytesIn: t.bytesIn, bytesOut: t.bytesOut };
      t.stream.push(last);
      t.stream.end(reason === "overflow" || reason === "device_refused" ? "error" : "cancelled");
    }
    this.closedRecords.push(record);
    if (this.closedRecords.length > 100) this.closedRecords.shift();
    this.#o.logger.info("terminal closed", { ...record });
    // A terminal that never opened on the device (refused, timed out, session gone) has only its request record.
    if (t.opened) this.#record(t, "close", reason);
  }

  #record(t: OpenTerminal, phase: TerminalEvent["phase"], reason?: TTerminalCloseReason): void {
    const event: TerminalEvent = {
      phase,
      terminalId: t.id,
      mac: t.mac,
      accountId: t.accountId,
      role: t.role,
      signer: t.signer,
      openedAt: t.openedAt,
      ...(reason !== undefined ? { reason } : {}),
      bytesIn: t.bytesIn,
      bytesOut: t.bytesOut,
    };
    try {
      this.#o.record?.(event);
    } catch (error) {
      this.#o.logger.error("terminal record failed", { phase, error: error instanceof Error ? error.name : "unknown" });
    }
  }
}
