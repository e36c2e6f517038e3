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
  /**
   * One event, already parsed with the caller's schema; `seq` counts from 0 without gaps. A
   * handler that hands the event on to something asynchronous (xterm parses writes later) returns
   * a promise that settles once that took it in: the event counts as taken in, for flow control,
   * only then. Any other return value is ignored (the event was taken in when the handler
   * returned). A handler that throws, or whose promise rejects, ends its stream (`handler_error`).
   */
  onEvent(event: E, seq: number): unknown;
  /**
   * The stream ended (cancelled, session closed, an error on the companion, a bad event, or
   * `handler_error`: the page's own handler failed).
   */
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
  /** Event bytes delivered since the last acknowledgement point; -1 before the first one. */
  unacked: number;
  /**
   * Settles once every event delivered so far was taken in and its acknowledgement (if any) sent;
   * null when nothing is outstanding. Acknowledgements are chained on it, so they go in order.
   */
  settled: Promise<boolean> | null;
}

/**
 * Flow control (docs/PROTOCOL-COMPANION.md, "Stream flow control"): a companion whose hello names
 * a window keeps at most that many bytes of a push stream's events unacknowledged once the
 * browser has acknowledged one. The channel acknowledges a stream's first event as soon as the
 * page took it in (which turns the window on), then each time a quarter of the window has been
 * delivered, once the page took in everything up to that event: the handler returned, and the
 * promise it returned, if any, settled (the terminal's xterm write callback). Bytes are counted
 * at delivery, acknowledgements sent at completion and in order. The companion never waits on an
 * acknowledgement the browser holds back for no reason, and a page that falls behind (its
 * handlers slow, xterm still parsing, its link slow) slows the stream rather than letting output
 * pile up in the page. The count is of decrypted message bytes, never less than what the
 * companion counts. A handler that fails is never acknowledged: its stream ends.
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
   * (undefined: it takes no acknowledgements). `report` gets an error a page handler threw, after
   * its stream ended; by default it is thrown from a microtask of its own (the page's error
   * reporting sees it, and the frames after it in the same delivery are still read).
   */
  constructor(
    private readonly cancel: (subscriptionId: string) => void,
    private readonly isClosed: () => boolean,
    private readonly ack: (subscriptionId: string, seq: number) => void = () => undefined,
    private readonly windowBytes: () => number | undefined = () => undefined,
    private readonly report: (error: unknown) => void = (error) =>
      queueMicrotask(() => {
        throw error;
      }),
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
        settled: null,
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
   * not parse ends its stream. A delivered event is acknowledged when flow control asks for it,
   * once the page took it in. Never throws: a failing page handler ends only its own stream, and
   * the frames after it in the same delivery are still opened (a frame left unopened would be a
   * gap in the session's sequence, and the session would close for the wrong reason).
   */
  onMessage(msg: Extract<TE2EResponse, { kind: "event" | "end" }>, bytes = 0): void {
    const subscriptionId = msg.subscriptionId;
    const stream = this.#streams.get(subscriptionId);
    if (!stream) return;
    if (msg.kind === "end") {
      this.#streams.delete(subscriptionId);
      return this.#end(stream, msg.reason);
    }
    let event: unknown;
    try {
      if (msg.type !== stream.eventType || msg.seq !== stream.next) throw new Error("out of sequence");
      event = stream.parse(msg.body);
    } catch {
      this.#streams.delete(subscriptionId);
      this.cancel(subscriptionId);
      return this.#end(stream, "bad_event");
    }
    stream.next += 1;
    const ackHere = this.#isAckPoint(stream, bytes);
    let taken: unknown;
    try {
      taken = stream.handlers.onEvent(event, msg.seq);
    } catch (error) {
      return this.#handlerFailed(subscriptionId, stream, error);
    }
    const seq = msg.seq;
    const pending = taken instanceof Promise ? taken : null;
    if (pending === null && stream.settled === null) {
      if (ackHere) this.#acknowledge(subscriptionId, stream, seq);
      return;
    }
    // Wait for this event and every earlier one, then acknowledge (in order: each link waits on the last).
    const previous = stream.settled ?? Promise.resolve(true);
    const mine = pending
      ? pending.then(
          () => true,
          (error: unknown) => {
            this.#handlerFailed(subscriptionId, stream, error);
            return false;
          },
        )
      : Promise.resolve(true);
    const link: Promise<boolean> = previous
      .then((ok) => mine.then((done) => ok && done))
      .then((ok) => {
        if (ok && ackHere) this.#acknowledge(subscriptionId, stream, seq);
        if (stream.settled === link) stream.settled = null;
        return ok;
      });
    stream.settled = link;
  }

  /**
   * Counts an event's bytes at delivery; true when it is an acknowledgement point: the stream's
   * first event, or a quarter of the window delivered since the last point. Never one for a
   * companion that takes no acknowledgements.
   */
  #isAckPoint(stream: Subscription, bytes: number): boolean {
    const window = this.windowBytes();
    if (window === undefined) return false;
    if (stream.unacked >= 0 && stream.unacked + bytes < window / ACK_EVERY_WINDOW_FRACTION) {
      stream.unacked += bytes;
      return false;
    }
    stream.unacked = 0;
    return true;
  }

  /** Acknowledges event `seq` of `stream`, unless the stream or the channel ended meanwhile. */
  #acknowledge(subscriptionId: string, stream: Subscription, seq: number): void {
    if (this.isClosed() || this.#streams.get(subscriptionId) !== stream) return;
    this.ack(subscriptionId, seq);
  }

  /** The page's handler threw or rejected: its stream ends (cancelled on the companion), unacknowledged. */
  #handlerFailed(subscriptionId: string, stream: Subscription, error: unknown): void {
    this.report(error);
    if (this.#streams.get(subscriptionId) !== stream) return;
    this.#streams.delete(subscriptionId);
    if (!this.isClosed()) this.cancel(subscriptionId);
    this.#end(stream, "handler_error");
  }

  /** Tells the page a stream ended; an error its handler throws is reported, never thrown here. */
  #end(stream: Subscription, reason: string): void {
    try {
      stream.handlers.onEnd(reason);
    } catch (error) {
      this.report(error);
    }
  }

  /** The session closed: every stream ends, and none is cancelled (the session is gone). */
  endAll(): void {
    const ended = [...this.#streams.values()];
    this.#streams.clear();
    for (const stream of ended) this.#end(stream, "session_closed");
  }
}
