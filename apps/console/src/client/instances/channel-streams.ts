/**
 * The live streams of one end-to-end channel (e2e-channel.ts, InstanceChannel.subscribe): which
 * subscriptions are running, the events they deliver in sequence, and their ends. The channel
 * owns the session; it hands over every `event` and `end` message and every late subscription
 * result, and sends `subscription.cancel` when this module asks.
 */
import type { TE2EResponse } from "@veil/protocol";
import type { z } from "zod";

import { ChannelError, StreamNotStartedError } from "./channel-errors";

/** Handlers of one live stream (a subscription request such as `devices.watch`). */
export interface StreamHandlers<E> {
  /** One event, already parsed with the caller's schema; `seq` counts from 0 without gaps. */
  onEvent(event: E, seq: number): void;
  /** The stream ended (cancelled, session closed, an error on the companion, or a bad event). */
  onEnd(reason: string): void;
}

/** A running subscription. */
export interface Stream {
  readonly subscriptionId: string;
  /** The subscription request's parsed answer (for example `discovery.start`'s host count). */
  readonly result: unknown;
  /** Asks the companion to end it (best effort) and stops delivering events. */
  cancel(): void;
}

interface Subscription {
  readonly eventType: string;
  readonly parse: (body: unknown) => unknown;
  readonly handlers: StreamHandlers<unknown>;
  next: number;
  /** Event bytes delivered since the last `ack`; -1 before the first one. */
  unacked: number;
}

/**
 * Flow control (docs/PROTOCOL-COMPANION.md, "Stream flow control"): a companion whose hello names
 * a window keeps at most that many bytes of a push stream's events unacknowledged once the
 * browser has acknowledged one. The channel acknowledges a stream's first event at once (which
 * turns the window on), then each time a quarter of the window has been delivered to the page:
 * the companion never waits on an acknowledgement the browser holds back, and a page that falls
 * behind (its handlers slow, its link slow) slows the stream rather than letting frames pile up.
 * The count is of decrypted message bytes, never less than what the companion counts.
 */
const ACK_EVERY_WINDOW_FRACTION = 4;

/** Most subscriptions one channel holds at once (the companion has its own, lower limit per session). */
const MAX_STREAMS = 32;

export class ChannelStreams {
  readonly #streams = new Map<string, Subscription>();

  /**
   * `cancel` sends `subscription.cancel` for one subscription (best effort, never throws);
   * `isClosed` says whether the channel has ended, when nothing is sent any more; `ack` sends a
   * stream acknowledgement (never throws), and `windowBytes` is the companion's stream window
   * (undefined: it takes no acknowledgements).
   */
  constructor(
    private readonly cancel: (subscriptionId: string) => void,
    private readonly isClosed: () => boolean,
    private readonly ack: (subscriptionId: string, seq: number) => void = () => undefined,
    private readonly windowBytes: () => number | undefined = () => undefined,
  ) {}

  /**
   * Sends a subscription request through `request` and registers the stream's handlers from its
   * `onResult`, which runs when the result arrives, before any later frame is read: no event is
   * lost between the result and the first event.
   */
  async start<E>(
    request: (onResult: (r: TE2EResponse) => void) => Promise<unknown>,
    eventType: string,
    eventSchema: z.ZodType<E>,
    handlers: StreamHandlers<E>,
  ): Promise<Stream> {
    if (this.#streams.size >= MAX_STREAMS) throw new ChannelError("too_many_subscriptions", "Too many live streams.");
    let subscriptionId = "";
    const register = (r: TE2EResponse) => {
      if (r.kind !== "result" || !r.body || typeof r.body !== "object") return;
      const id = (r.body as { subscriptionId?: unknown }).subscriptionId;
      if (typeof id !== "string") return;
      subscriptionId = id;
      this.#streams.set(id, {
        eventType,
        parse: (b) => eventSchema.parse(b),
        handlers,
        next: 0,
        unacked: -1,
      });
    };
    let result: unknown;
    try {
      result = await request(register);
    } catch (error) {
      if (subscriptionId) this.#streams.delete(subscriptionId);
      throw error;
    }
    if (!subscriptionId) throw new StreamNotStartedError(result);
    return {
      subscriptionId,
      result,
      cancel: () => {
        if (!this.#streams.delete(subscriptionId) || this.isClosed()) return;
        this.cancel(subscriptionId);
      },
    };
  }

  /**
   * An answer to a request the page stopped waiting for: a subscription or stream it started
   * (it could still start until its expiry) is cancelled, or it would hold one of the session's
   * slots, or a device's shell, until the session ends.
   */
  cancelLate(msg: TE2EResponse): void {
    if (msg.kind !== "result" || !msg.body || typeof msg.body !== "object") return;
    const subscriptionId = (msg.body as { subscriptionId?: unknown }).subscriptionId;
    if (typeof subscriptionId !== "string" || this.isClosed()) return;
    this.cancel(subscriptionId);
  }

  /**
   * One `event` or `end` message (`bytes`: its decrypted size). An event out of sequence (the
   * session itself guarantees order; a gap means the companion dropped events) or one that does
   * not parse ends its stream. A delivered event is acknowledged when flow control asks for it.
   */
  onMessage(msg: Extract<TE2EResponse, { kind: "event" | "end" }>, bytes = 0): void {
    const stream = this.#streams.get(msg.subscriptionId);
    if (!stream) return;
    if (msg.kind === "end") {
      this.#streams.delete(msg.subscriptionId);
      return stream.handlers.onEnd(msg.reason);
    }
    let event: unknown;
    try {
      if (msg.type !== stream.eventType || msg.seq !== stream.next) throw new Error("out of sequence");
      event = stream.parse(msg.body);
    } catch {
      this.#streams.delete(msg.subscriptionId);
      this.cancel(msg.subscriptionId);
      return stream.handlers.onEnd("bad_event");
    }
    stream.next += 1;
    try {
      stream.handlers.onEvent(event, msg.seq);
    } finally {
      this.#acknowledge(msg.subscriptionId, stream, msg.seq, bytes);
    }
  }

  /** Acknowledges event `seq` of `stream` if it is the first, or a quarter of the window went by since the last acknowledgement. */
  #acknowledge(subscriptionId: string, stream: Subscription, seq: number, bytes: number): void {
    const window = this.windowBytes();
    if (window === undefined || this.isClosed() || this.#streams.get(subscriptionId) !== stream) return;
    if (stream.unacked >= 0 && stream.unacked + bytes < window / ACK_EVERY_WINDOW_FRACTION) {
      stream.unacked += bytes;
      return;
    }
    stream.unacked = 0;
    this.ack(subscriptionId, seq);
  }

  /** The session closed: every stream ends, and none is cancelled (the session is gone). */
  endAll(): void {
    for (const [, stream] of this.#streams) stream.handlers.onEnd("session_closed");
    this.#streams.clear();
  }
}
