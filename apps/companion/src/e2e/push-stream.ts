import { STREAM_STALL_MS, STREAM_WINDOW_BYTES, type TE2EResponse } from "../protocol";
import type { Clock } from "../clock";
import type { EventStream, StreamStopReason } from "./request-context";

/** Bounds of one push stream: a queue of events and a byte budget per second. */
export interface PushStreamLimits {
  /** Events waiting (before the result went out, or over the byte budget) before the stream overflows. */
  readonly maxQueuedEvents: number;
  /** Serialized event bytes sent per second once the burst is spent. */
  readonly bytesPerSec: number;
  /** Bytes that may go out at once. */
  readonly burstBytes: number;
  /** Event bytes sent and not yet acknowledged, at most, once the browser acknowledges the stream. */
  readonly windowBytes: number;
  /** How long the window may stay full without an acknowledgement before the stream ends with `error`. */
  readonly stallMs: number;
}

/**
 * 1 MiB/s per stream with a 1 MiB burst, at most 256 waiting events, a 1 MiB window
 * (STREAM_WINDOW_BYTES, which the hello announces) and 30 s to acknowledge a full one.
 */
export const DEFAULT_PUSH_STREAM_LIMITS: PushStreamLimits = {
  maxQueuedEvents: 256,
  bytesPerSec: 1024 * 1024,
  burstBytes: 1024 * 1024,
  windowBytes: STREAM_WINDOW_BYTES,
  stallMs: STREAM_STALL_MS,
};

/**
 * Sizes of sent events kept for a stream the browser has not acknowledged yet (a browser older
 * than flow control never does): past this, the oldest are forgotten, as if acknowledged.
 */
const MAX_TRACKED_BEFORE_ACK = 1024;

interface Queued {
  readonly body: unknown;
  readonly size: number;
}

/**
 * A push-style stream of events named by the request that opened it: the producer pushes as
 * data arrives and each event goes out at once. Events pushed before the request's result was
 * sent wait (the browser registers the stream when the result arrives), and so do events over
 * the byte budget; a queue that passes `maxQueuedEvents` ends the stream with `error` rather
 * than growing. `onStop` runs exactly once, whatever stopped the stream.
 *
 * Flow control: once the browser acknowledges an event (`ack`, {@link acknowledge}), at most
 * `windowBytes` of sent events (JSON of their bodies) stay unacknowledged; further events wait,
 * so a browser or a link slower than the producer slows the stream instead of piling frames up
 * in the companion's send buffer, the console and the browser's socket. A window that stays full
 * for `stallMs` ends the stream with `error` (`overflow`). `onDrained` runs each time the queue
 * empties after events had to wait: a producer that paused its source (a terminal pauses its
 * device) resumes it then.
 */
export class PushStream implements EventStream {
  readonly #queue: Queued[] = [];
  #state: "pending" | "open" | "stopped" = "pending";
  #ending: "cancelled" | "error" | undefined;
  /** Stopped before the result went out: the `end` to send once it has. */
  #lateEnd: "cancelled" | "error" | undefined;
  #seq = 0;
  #tokens: number;
  #at: number;
  #timer: unknown;
  /** Sizes of the events sent and not acknowledged, oldest first; the first is event `#unackedFrom`. */
  readonly #unacked: number[] = [];
  #unackedFrom = 0;
  #inFlight = 0;
  /** The browser acknowledges this stream: the window applies. */
  #acking = false;
  #stallTimer: unknown;
  /** Events had to wait since the queue was last empty. */
  #held = false;

  constructor(
    readonly id: string,
    private readonly type: string,
    private readonly send: (message: TE2EResponse) => void,
    private readonly clock: Clock,
    private readonly limits: PushStreamLimits,
    private readonly onStop: (reason: StreamStopReason) => void,
    private readonly onDrained?: () => void,
  ) {
    this.#tokens = limits.burstBytes;
    this.#at = clock.now();
  }

  get ended(): boolean {
    return this.#state === "stopped" || this.#ending !== undefined;
  }

  /** True until the request's result went out (the stream has not flowed, and has not stopped). */
  get pending(): boolean {
    return this.#state === "pending";
  }

  /** Events waiting to go out (before the result, over the byte budget, or over the window). */
  get waiting(): number {
    return this.#queue.length;
  }

  push(body: unknown): boolean {
    if (this.ended) return false;
    let size: number;
    try {
      size = JSON.stringify(body).length;
    } catch {
      return false;
    }
    if (this.#queue.length >= this.limits.maxQueuedEvents) {
      this.#stop("overflow", "error");
      return false;
    }
    this.#queue.push({ body, size });
    if (this.#state === "open") this.#drain();
    if (this.#queue.length > 0) this.#held = true;
    return true;
  }

  /**
   * The browser took in every event up to `seq`: their bytes leave the window, and the window
   * applies from now on. False (and nothing changes) for a stream not flowing, or a `seq` not
   * sent yet; an old `seq` changes nothing.
   */
  acknowledge(seq: number): boolean {
    if (this.#state !== "open" || seq >= this.#seq) return false;
    this.#acking = true;
    const count = seq + 1 - this.#unackedFrom;
    if (count > 0) {
      for (const size of this.#unacked.splice(0, count)) this.#inFlight -= size;
      this.#unackedFrom = seq + 1;
      // Only progress holds off the stall limit: repeating an old acknowledgement does not.
      this.#clearStall();
    }
    this.#drain();
    return true;
  }

  end(reason: "cancelled" | "error" = "cancelled"): void {
    if (this.ended) return;
    this.#ending = reason;
    if (this.#state === "open") this.#drain();
  }

  /** The request's result went out: events may flow. */
  start(): void {
    if (this.#state === "stopped" && this.#lateEnd !== undefined) {
      this.send({ kind: "end", subscriptionId: this.id, reason: this.#lateEnd });
      this.#lateEnd = undefined;
    }
    if (this.#state !== "pending") return;
    this.#state = "open";
    this.#drain();
  }

  /** Stopped from outside: `subscription.cancel` (sends `end`), the session closed or the request failed (send nothing). */
  stop(reason: "cancelled" | "session_closed" | "refused"): void {
    this.#stop(reason, reason === "cancelled" ? "cancelled" : undefined);
  }

  /**
   * Stops at once with `end` reason `error`, dropping what waits (the producer hears `overflow`):
   * an event could not be sent (too large for one message). Safe to call from within `send`.
   */
  fail(): void {
    this.#stop("overflow", "error");
  }

  #drain(): void {
    if (this.#state !== "open") return;
    const now = this.clock.now();
    this.#tokens = Math.min(this.limits.burstBytes, this.#tokens + ((now - this.#at) / 1000) * this.limits.bytesPerSec);
    this.#at = now;
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      // An event larger than the burst goes out once the bucket is full.
      const cost = Math.min(next.size, this.limits.burstBytes);
      if (this.#tokens < cost) {
        if (this.#timer === undefined) {
          const waitMs = Math.ceil(((cost - this.#tokens) / this.limits.bytesPerSec) * 1000);
          this.#timer = this.clock.setTimeout(() => {
            this.#timer = undefined;
            this.#drain();
          }, waitMs);
        }
        return;
      }
      if (this.#acking && this.#inFlight > 0 && this.#inFlight + next.size > this.limits.windowBytes) {
        this.#armStall();
        return;
      }
      this.#tokens -= cost;
      this.#queue.shift();
      this.#track(next.size);
      this.send({ kind: "event", subscriptionId: this.id, seq: this.#seq++, type: this.type, body: next.body });
      // `send` may have stopped the stream (an event too large to send fails it).
      if (this.#state !== "open") return;
    }
    if (this.#ending !== undefined) this.#stop("ended", this.#ending);
    else if (this.#held) {
      this.#held = false;
      this.onDrained?.();
    }
  }

  /** Counts one event of `size` bytes as sent and unacknowledged. */
  #track(size: number): void {
    this.#unacked.push(size);
    this.#inFlight += size;
    if (!this.#acking && this.#unacked.length > MAX_TRACKED_BEFORE_ACK) {
      this.#inFlight -= this.#unacked.shift() ?? 0;
      this.#unackedFrom += 1;
    }
  }

  /** The window is full: unless an acknowledgement comes within `stallMs`, the stream ends. */
  #armStall(): void {
    if (this.#stallTimer !== undefined) return;
    this.#stallTimer = this.clock.setTimeout(() => {
      this.#stallTimer = undefined;
      this.#stop("overflow", "error");
    }, this.limits.stallMs);
  }

  #clearStall(): void {
    if (this.#stallTimer !== undefined) this.clock.clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  #stop(reason: StreamStopReason, endReason: "cancelled" | "error" | undefined): void {
    if (this.#state === "stopped") return;
    const wasOpen = this.#state === "open";
    this.#state = "stopped";
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#clearStall();
    this.#queue.length = 0;
    this.#unacked.length = 0;
    if (wasOpen && endReason !== undefined) this.send({ kind: "end", subscriptionId: this.id, reason: endReason });
    else if (!wasOpen && reason !== "refused") this.#lateEnd = endReason;
    this.onStop(reason);
  }
}
