import {
  COMPANION_CONNECT_ERRORS,
  FrameOutbox,
  onRelayFrames,
  parseRelayFrame,
  PROTOCOL_VERSION,
  readBatchAck,
  ZSessionEndedSchema,
  type TCompanionSocketAuth,
  type TRelayFrame,
} from "../protocol";
import type { Clock, Random } from "../clock";
import type { Logger } from "../log";
import type { CompanionSocket, ConsoleTransport } from "../transport/console-transport";
import { COMPANION_VERSION } from "../version";
import { AckLedger, ACK_TIMEOUT_MS, MAX_OVERDUE_TICKS, MAX_OWED_ACKS, MAX_OWED_BYTES } from "./ack-ledger";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff";

export { ACK_TIMEOUT_MS, MAX_OVERDUE_TICKS, MAX_OWED_ACKS, MAX_OWED_BYTES } from "./ack-ledger";

/**
 * How long a connection the console closed must have held before the backoff starts again from its
 * first delay. Reset on every such close, two hosts with the same enrollment (a cloned VM), each
 * replacing the other's connection at the console, would take turns about once a second forever.
 * A connection lost otherwise (network, the console restarting) resets it after
 * LOST_CONNECTION_HELD_MS.
 */
export const STABLE_CONNECTION_MS = 30_000;
/** How long a connection lost otherwise (network, a console restart) must have held to reset the backoff. */
export const LOST_CONNECTION_HELD_MS = 5_000;

/** Connection states reported to `status`. */
export type ConnectionState = "starting" | "connecting" | "connected" | "disconnected" | "revoked" | "stopped";

/** Supplies the auth key for each connection attempt; may switch to a pending rotation's key when refused. */
export interface AuthProvider {
  current(): string;
  /** The console refused the key: return true if another key is worth trying right away. */
  onRejected(): boolean;
}

/** Options of the {@link Supervisor}: clock, RNG, logger and transport come in here. */
export interface SupervisorOptions {
  instanceId: string;
  transport: ConsoleTransport;
  auth: AuthProvider;
  clock: Clock;
  random: Random;
  logger: Logger;
  backoff?: BackoffPolicy;
  /** How long a connection the console closed must have held to reset the backoff (default STABLE_CONNECTION_MS). */
  stableAfterMs?: number;
  /**
   * Whether an error thrown while connecting (reading the auth key) ends the supervisor for good;
   * others are logged and retried with the backoff. Default: every error.
   */
  isFatal?: (error: unknown) => boolean;
  /** Ends a turn of the relay outbox (FrameOutbox): by default setImmediate; tests run it by hand. */
  deferTurnEnd?: (endTurn: () => void) => void;
  /** The relay outbox's clock for MAX_BATCH_WAIT_MS (milliseconds): by default performance.now; tests stop it. */
  batchClock?: () => number;
  /** A frame the console relayed. */
  onFrame(frame: TRelayFrame): void;
  /** The connection went away: end-to-end sessions end with it. */
  onDisconnected(): void;
  /** State changed (for status.json). */
  onState?(
    state: ConnectionState,
    detail: { attempt: number; lastError: string | null; connectedSince: number | null },
  ): void;
}

/**
 * Owns the connection to the console: connects, and after any loss reconnects with jittered
 * exponential backoff (reset after a connection that was lost, or that the console closed after it
 * held STABLE_CONNECTION_MS). Stops for good
 * when the console says the instance was revoked (`session:ended` or a `instance_revoked` connect
 * error), and when connecting fails in a way `isFatal` names (the auth key cannot be read:
 * secrets.json made unsafe, damaged or gone): that error is logged once, kept in
 * {@link failure}, and the supervisor ends "stopped" instead of throwing out of a timer; other
 * errors while connecting are retried. socket.io's own reconnection and
 * connection-state recovery are off: every connection is a fresh, authenticated one.
 */
export class Supervisor {
  readonly #o: SupervisorOptions;
  #socket: CompanionSocket | undefined;
  /** Frames to the console over this connection, batched per turn of the event loop (relay-batch.ts). */
  #outbox: FrameOutbox | undefined;
  #timer: unknown;
  #attempt = 0;
  readonly #acks = new AckLedger();
  #ackTimer: unknown;
  #state: ConnectionState = "starting";
  #lastError: string | null = null;
  #connectedSince: number | null = null;
  #finished: Promise<ConnectionState>;
  #resolveFinished!: (state: ConnectionState) => void;
  #failure: { name: string; message: string } | undefined;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#finished = new Promise((resolve) => (this.#resolveFinished = resolve));
  }

  /** Current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Resolves with "revoked" or "stopped" when the supervisor ends. */
  get finished(): Promise<ConnectionState> {
    return this.#finished;
  }

  /** The error connecting stopped on (name and message, no secret), if it stopped on one. */
  get failure(): { name: string; message: string } | undefined {
    return this.#failure;
  }

  /** Starts connecting. */
  start(): void {
    this.#connect();
  }

  /**
   * Queues a frame for the console, sent with the others of this turn of the event loop; false
   * when not connected (the frame is dropped, the session will fail loudly).
   */
  send(frame: TRelayFrame): boolean {
    const socket = this.#socket;
    if (socket === undefined || !socket.connected || this.#outbox === undefined) return false;
    this.#outbox.push(frame, "if busy");
    return true;
  }

  /** One batch out on the connection it was queued for (a batch queued before a reconnect is dropped). */
  #emit(socket: CompanionSocket, frames: TRelayFrame[]): void {
    if (socket !== this.#socket || !socket.connected) return;
    // A bounded wait: acknowledgements still owed after ACK_TIMEOUT_MS are logged at the next
    // ledger tick, and a console that owes MAX_OWED_ACKS frames or MAX_OWED_BYTES of them, or
    // still owes any a tick later, is dropped (which clears its callbacks and the frames they hold).
    let bytes = 0;
    for (const frame of frames) bytes += frame.frame.length;
    const settle = this.#acks.owe(frames.length, bytes);
    socket.emit("e2e:frames", frames, (ack: unknown) => {
      settle();
      const acks = readBatchAck(ack, frames.length);
      frames.forEach((frame, i) => {
        const result = acks?.[i];
        if (result?.ok === true) return;
        this.#o.logger.warn("console refused a frame", {
          sessionId: frame.sessionId,
          code: result ? result.error.code : "malformed_ack",
        });
      });
    });
    if (this.#acks.total > MAX_OWED_ACKS || this.#acks.bytes > MAX_OWED_BYTES) {
      this.#o.logger.error("the console stopped acknowledging frames: reconnecting", {
        owed: this.#acks.total,
        owedBytes: this.#acks.bytes,
      });
      this.#retry(true);
    }
  }

  #checkAcks(): void {
    const { overdue, stale } = this.#acks.advance();
    if (stale > 0) {
      this.#o.logger.error("the console stopped acknowledging frames: reconnecting", {
        owed: this.#acks.total,
        owedBytes: this.#acks.bytes,
        overdue,
        waitedAtLeastMs: MAX_OVERDUE_TICKS * ACK_TIMEOUT_MS,
      });
      this.#retry(true);
      return;
    }
    if (overdue > 0)
      this.#o.logger.warn("console did not acknowledge frames", { count: overdue, withinMs: ACK_TIMEOUT_MS });
  }

  /** Stops for good: closes the connection, cancels any pending reconnect. */
  stop(): void {
    this.#end("stopped");
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    this.#o.onState?.(state, {
      attempt: this.#attempt,
      lastError: this.#lastError,
      connectedSince: this.#connectedSince,
    });
  }

  #end(state: "stopped" | "revoked"): void {
    if (this.#state === "stopped" || this.#state === "revoked") return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#teardown();
    this.#setState(state);
    this.#resolveFinished(state);
  }

  #teardown(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#outbox = undefined;
    this.#o.clock.clearInterval(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#acks.reset();
    if (socket !== undefined) {
      socket.removeAllListeners();
      socket.disconnect();
    }
    if (this.#connectedSince !== null) {
      this.#connectedSince = null;
      this.#o.onDisconnected();
    }
  }

  /**
   * Stops for good on an error thrown while connecting or handling a connection's events (these
   * run in timers and socket callbacks, where a throw would end the process with a stack trace).
   */
  #fail(error: unknown): void {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : "a non-error was thrown";
    this.#failure = { name, message };
    this.#lastError = `${name}: ${message}`.slice(0, 200);
    this.#o.logger.error("stopped: could not connect to the console", { error: name, message });
    this.#end("stopped");
  }

  /** `handler`, with anything it throws ending the supervisor through {@link #fail}. */
  #guard<A extends unknown[]>(handler: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        handler(...args);
      } catch (error) {
        this.#fail(error);
      }
    };
  }

  #connect(): void {
    if (this.#state === "stopped" || this.#state === "revoked") return;
    try {
      this.#open();
    } catch (error) {
      if (this.#o.isFatal?.(error) ?? true) return this.#fail(error);
      const name = error instanceof Error ? error.name : "Error";
      this.#lastError = `${name}: ${error instanceof Error ? error.message : ""}`.slice(0, 200);
      this.#o.logger.warn("could not connect; retrying", {
        error: name,
        message: error instanceof Error ? error.message : "a non-error was thrown",
      });
      this.#retry();
    }
  }

  #open(): void {
    this.#setState("connecting");
    const auth: TCompanionSocketAuth = {
      instanceId: this.#o.instanceId,
      authKey: this.#o.auth.current(),
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: COMPANION_VERSION,
    };
    const socket = this.#o.transport.openSocket(auth);
    this.#socket = socket;
    const outbox = new FrameOutbox((frames) => this.#emit(socket, frames), this.#o.deferTurnEnd, this.#o.batchClock);
    this.#outbox = outbox;
    const log = this.#o.logger;
    socket.on(
      "connect",
      this.#guard(() => {
        this.#lastError = null;
        this.#connectedSince = this.#o.clock.now();
        this.#o.clock.clearInterval(this.#ackTimer);
        this.#ackTimer = this.#o.clock.setInterval(() => this.#checkAcks(), ACK_TIMEOUT_MS);
        log.info("connected to the console", { instanceId: this.#o.instanceId });
        this.#setState("connected");
      }),
    );
    socket.on(
      "connect_error",
      this.#guard((error: Error) => {
        const code = describeConnectError(error);
        this.#lastError = code;
        log.warn("connection refused or failed", { code, attempt: this.#attempt });
        if (code === COMPANION_CONNECT_ERRORS.revoked) {
          log.error("the console revoked this instance: stopping", { instanceId: this.#o.instanceId });
          this.#end("revoked");
          return;
        }
        if (code === COMPANION_CONNECT_ERRORS.unauthenticated && this.#o.auth.onRejected()) {
          this.#teardown();
          this.#connect();
          return;
        }
        this.#retry();
      }),
    );
    socket.on(
      "disconnect",
      this.#guard((reason) => {
        if (reason === "io server disconnect")
          log.warn(
            "the console closed this connection: replaced by another connection of this instance (a second host with this enrollment, e.g. a cloned VM), or the console could not record it (see its log)",
            { reason, heldMs: this.#heldMs() },
          );
        else log.warn("disconnected from the console", { reason });
        this.#retry(reason === "io server disconnect");
      }),
    );
    socket.on(
      "session:ended",
      this.#guard((body) => {
        const parsed = ZSessionEndedSchema.safeParse(body);
        if (parsed.success && (parsed.data.reason === "instance_revoked" || parsed.data.reason === "revoked")) {
          log.error("the console revoked this instance: stopping", { instanceId: this.#o.instanceId });
          this.#end("revoked");
        }
      }),
    );
    onRelayFrames(
      socket,
      (frame) => {
        const parsed = parseRelayFrame(frame);
        if (!parsed) {
          log.warn("malformed relay frame dropped");
          return;
        }
        this.#o.onFrame(parsed);
      },
      // The answers to a batch of several requests leave as one batch (FrameOutbox.hold).
      () => outbox.hold(),
    );
    socket.connect();
  }

  /** How long the current connection has held (0 when not connected). */
  #heldMs(): number {
    return this.#connectedSince === null ? 0 : this.#o.clock.now() - this.#connectedSince;
  }

  /**
   * `closedByConsole`: the console ended the connection (perhaps to let another host's in), or
   * stopped acknowledging frames on it.
   */
  #retry(closedByConsole = false): void {
    if (this.#state === "stopped" || this.#state === "revoked") return;
    // The backoff starts over only after a connection that held: LOST_CONNECTION_HELD_MS for one
    // lost (a console that keeps crashing, or a balancer that accepts and drops, is backed off
    // from), STABLE_CONNECTION_MS for one the console ended (two hosts with one enrollment, each
    // replacing the other, back off too).
    const held = this.#heldMs();
    const needed = closedByConsole ? (this.#o.stableAfterMs ?? STABLE_CONNECTION_MS) : LOST_CONNECTION_HELD_MS;
    if (held > 0 && held >= needed) this.#attempt = 0;
    this.#teardown();
    const delay = backoffDelay(this.#attempt, this.#o.random, this.#o.backoff ?? DEFAULT_BACKOFF);
    this.#attempt += 1;
    this.#setState("disconnected");
    this.#o.logger.info("reconnecting", { inMs: delay, attempt: this.#attempt });
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => this.#connect(), delay);
  }
}

/** A stable code for a connect error: the console's refusal code, a pin mismatch, or "network". */
export function describeConnectError(error: Error): string {
  const known = Object.values(COMPANION_CONNECT_ERRORS) as string[];
  // The console may put the code in the message, or send a ZErrorBodySchema body as `data`.
  const data = (error as { data?: { error?: { code?: unknown } } }).data;
  const code = data?.error?.code;
  if (typeof code === "string" && known.includes(code)) return code;
  if (known.includes(error.message)) return error.message;
  const chain: unknown[] = [error, (error as { description?: unknown }).description, error.cause];
  for (const e of chain) {
    if (typeof e === "object" && e !== null && (e as { code?: unknown }).code === "pin_mismatch") return "pin_mismatch";
    const inner = (e as { error?: unknown } | null)?.error;
    if (typeof inner === "object" && inner !== null && (inner as { code?: unknown }).code === "pin_mismatch")
      return "pin_mismatch";
  }
  return "network";
}
