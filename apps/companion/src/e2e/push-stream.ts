import type { TE2EResponse } from "../protocol";
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
}

/** 1 MiB/s per stream with a 1 MiB burst, at most 256 waiting events. */
export const DEFAULT_PUSH_STREAM_LIMITS: PushStreamLimits = {
  maxQueuedEvents: 256,
  bytesPerSec: 1024 * 1024,
  burstBytes: 1024 * 1024,
};

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

  constructor(
    readonly id: string,
    private readonly type: string,
    private readonly send: (message: TE2EResponse) => void,
    private readonly clock: Clock,
    private readonly limits: PushStreamLimits,
    private readonly onStop: (reason: StreamStopReason) => void,
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
      this.#tokens -= cost;
      this.#queue.shift();
      this.send({ kind: "event", subscriptionId: this.id, seq: this.#seq++, type: this.type, body: next.body });
    }
    if (this.#ending !== undefined) this.#stop("ended", this.#ending);
  }

  #stop(reason: StreamStopReason, endReason: "cancelled" | "error" | undefined): void {
    if (this.#state === "stopped") return;
    const wasOpen = this.#state === "open";
    this.#state = "stopped";
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    if (wasOpen && endReason !== undefined) this.send({ kind: "end", subscriptionId: this.id, reason: endReason });
    else if (!wasOpen && reason !== "refused") this.#lateEnd = endReason;
    this.onStop(reason);
  }
}
