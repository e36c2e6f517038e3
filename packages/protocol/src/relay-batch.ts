import { z } from "zod";
import { wellFormedFrame, ZRelayFrameSchema, ZSocketAckSchema, type TRelayFrame, type TSocketAck } from "./socket";

/**
 * Relay batches (protocol version 2, docs/PROTOCOL-COMPANION.md §3): every sender — browser,
 * console, companion — coalesces the frames it sends to one socket within one turn of its event
 * loop into `e2e:frames` packets (FrameOutbox). socket.io's cost is per packet (parse, dispatch, a
 * WebSocket frame and a TLS record, and an acknowledgement each way), so with many requests in
 * flight a batch of k frames costs little more than one frame did. Order is kept: frames leave
 * in the order they were pushed, and a batch is relayed in its order.
 */

/** Most frames in one batch. */
export const MAX_FRAMES_PER_BATCH = 64;

/**
 * Most frame text in one batch. A batch is flushed early rather than grow past this, so a batch
 * with its JSON stays well under MAX_SOCKET_MESSAGE_BYTES (256 KiB); one frame alone is at most
 * ~87 KiB of base64url and always fits.
 */
export const MAX_BATCH_FRAME_CHARS = 128 * 1024;

/** An `e2e:frames` payload. */
export const ZRelayBatchSchema = z.array(ZRelayFrameSchema).min(1).max(MAX_FRAMES_PER_BATCH);

/**
 * An `e2e:frames` payload as ZRelayBatchSchema parses it, or null when it does not parse: well-formed
 * frames the short way, as parseRelayFrame reads them; anything else through the schema.
 */
export function parseRelayBatch(raw: unknown): TRelayFrame[] | null {
  if (Array.isArray(raw) && raw.length >= 1 && raw.length <= MAX_FRAMES_PER_BATCH) {
    const frames: TRelayFrame[] = [];
    for (let i = 0; i < raw.length; i++) {
      const frame = wellFormedFrame(raw[i]);
      if (!frame) break;
      frames.push(frame);
    }
    if (frames.length === raw.length) return frames;
  }
  return ZRelayBatchSchema.safeParse(raw).data ?? null;
}

/**
 * The acknowledgement of a batch: one result per frame, in order, or one result for the whole
 * batch when the batch itself could not be read.
 */
export const ZBatchAckSchema = z.union([z.array(ZSocketAckSchema).max(MAX_FRAMES_PER_BATCH), ZSocketAckSchema]);

/**
 * One result per frame from a batch's acknowledgement (checked like any other input), or null
 * when it is not one: not an acknowledgement, or a list of another length.
 */
export function readBatchAck(ack: unknown, count: number): TSocketAck[] | null {
  // The common case, without building a parse tree: every frame relayed.
  if (Array.isArray(ack) && ack.length === count && ack.every((a) => (a as { ok?: unknown } | null)?.ok === true))
    return new Array<TSocketAck>(count).fill({ ok: true });
  const parsed = ZBatchAckSchema.safeParse(ack);
  if (!parsed.success) return null;
  if (!Array.isArray(parsed.data)) return new Array<TSocketAck>(count).fill(parsed.data);
  return parsed.data.length === count ? parsed.data : null;
}

/**
 * Runs `fn` after the I/O already waiting: setImmediate in Node; in a browser a MessageChannel
 * message (a task of its own, as setImmediate would be, and unlike timers not throttled to once a
 * second in a background tab).
 */
export const nextTurn: (fn: () => void) => void =
  typeof globalThis.setImmediate === "function"
    ? (fn) => void globalThis.setImmediate(fn)
    : typeof globalThis.MessageChannel === "function"
      ? messageChannelTurn()
      : (fn) => void globalThis.setTimeout(fn, 0);

/** The browser's `nextTurn` (exported for tests: Node has MessageChannel too). */
export function messageChannelTurn(): (fn: () => void) => void {
  const queue: (() => void)[] = [];
  let channel: MessageChannel | undefined;
  return (fn) => {
    queue.push(fn);
    if (queue.length > 1) return;
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => queue.splice(0).forEach((run) => run());
      // Node only (browsers have no unref): an idle channel must not keep the process alive.
      (channel.port1 as { unref?: () => void }).unref?.();
    }
    channel.port2.postMessage(null);
  };
}

/**
 * Longest a queued frame waits for the rest of its batch while its sender keeps working: a sender
 * answering a long batch sends what it has every MAX_BATCH_WAIT_MS, so the next hop starts work
 * (two hops then work at once) instead of waiting for the whole batch.
 */
export const MAX_BATCH_WAIT_MS = 0.25;

/**
 * An outbox that got no frame for this long counts as idle (`push(frame, "if busy")`). One
 * request at a time, frames to a receiver come a round trip apart, 0.3 ms or more here; with
 * requests in flight, a few tens of microseconds apart.
 */
export const IDLE_AFTER_MS = 0.25;

/** Whether a pushed frame holds the turn (FrameOutbox.push): yes, no, or only when frames are coming fast. */
export type HoldRule = boolean | "if busy";

/**
 * The frames one sender sends one socket, in order.
 *
 * - The first frame pushed in a turn of the event loop goes out at once, alone: one request at a
 *   time waits for nothing.
 * - Frames pushed after it in the same turn wait for the end of the turn and go out together; so
 *   does every frame of a held turn (`hold()`, or `push(frame, true)`): a sender relaying or
 *   answering a batch of several frames sends them on as one batch too, where sending the first
 *   alone would split every batch in two at every hop.
 * - `push(frame, "if busy")` holds the turn only when the previous frame came less than
 *   IDLE_AFTER_MS before. The console, where many sockets' frames meet, relays that way
 *   (apps/console/src/server/instances/relay-events.ts): under load, frames from many sockets
 *   leave as one packet per receiver; a frame that finds its receiver idle goes at once, since a
 *   turn that waits for company brings none. Such a frame does not hold the turn after it: the
 *   next frame of the turn finds the outbox busy and holds it then, so one request at a time
 *   costs no extra turn of the event loop at any hop. Browsers and companions send that way too.
 * - A batch goes out before the end of the turn when it is full (MAX_FRAMES_PER_BATCH frames or
 *   MAX_BATCH_FRAME_CHARS) or when its oldest frame has waited MAX_BATCH_WAIT_MS.
 */
export class FrameOutbox {
  #frames: TRelayFrame[] = [];
  #chars = 0;
  /** When the oldest queued frame was queued. */
  #since = 0;
  /** A frame went out, or the turn was held, in this turn; the end of the turn is scheduled. */
  #turn = false;
  /** When the last frame was pushed. */
  #lastPushAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly send: (frames: TRelayFrame[]) => void,
    private readonly defer: (fn: () => void) => void = nextTurn,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Queues the frames pushed for the rest of this turn, the first one included. */
  hold(): void {
    if (this.#turn) return;
    this.#turn = true;
    this.defer(this.#endTurn);
  }

  /**
   * Sends `frame`, at once or in a batch (see the class); `hold` says whether it holds the turn
   * first. True when the frame went out at once, false when it waits in the outbox.
   */
  push(frame: TRelayFrame, hold: HoldRule = false): boolean {
    const now = this.now();
    const held = hold === "if busy" ? now - this.#lastPushAt < IDLE_AFTER_MS : hold;
    this.#lastPushAt = now;
    if (!this.#turn && !held) {
      // The rest of this turn's frames wait for its end. Not needed "if busy": a frame pushed
      // right after this one finds the outbox busy and holds the turn then, so a lone frame
      // costs no extra turn of the event loop.
      if (hold !== "if busy") this.hold();
      this.send([frame]);
      return true;
    }
    this.hold();
    if (this.#frames.length > 0) {
      const full =
        this.#frames.length === MAX_FRAMES_PER_BATCH || this.#chars + frame.frame.length > MAX_BATCH_FRAME_CHARS;
      if (full || now - this.#since >= MAX_BATCH_WAIT_MS) this.flush();
    }
    if (this.#frames.length === 0) this.#since = now;
    this.#frames.push(frame);
    this.#chars += frame.frame.length;
    return false;
  }

  /** Sends what is queued now (before the socket is closed, say). */
  flush(): void {
    if (this.#frames.length === 0) return;
    const frames = this.#frames;
    this.#frames = [];
    this.#chars = 0;
    this.send(frames);
  }

  /** Frames waiting for the end of the turn. */
  get queued(): number {
    return this.#frames.length;
  }

  readonly #endTurn = (): void => {
    this.#turn = false;
    this.flush();
  };
}

/**
 * A client's outbox to the console, whose every batch the console acknowledges: each frame gets
 * a promise of its own result. `emitBatch` emits `e2e:frames` and calls back with the
 * acknowledgement, or with undefined when none came in time; a missing or unreadable
 * acknowledgement settles every frame of the batch as `unavailable`.
 */
export class AckedOutbox {
  readonly #outbox: FrameOutbox;
  /** The settle function of each queued frame, in the outbox's order. */
  #settles: ((ack: TSocketAck) => void)[] = [];

  /** `now`: the outbox's clock (FrameOutbox); tests stop it. */
  constructor(emitBatch: (frames: TRelayFrame[], onAck: (ack: unknown) => void) => void, now?: () => number) {
    this.#outbox = new FrameOutbox(
      (frames) => {
        const settles = this.#settles.splice(0, frames.length);
        emitBatch(frames, (ack) => {
          const acks = readBatchAck(ack, frames.length);
          settles.forEach((settle, i) => settle(acks?.[i] ?? NOT_ACKNOWLEDGED));
        });
      },
      undefined,
      now,
    );
  }

  send(frame: TRelayFrame): Promise<TSocketAck> {
    return new Promise((resolve) => {
      // Queued first: the outbox may send this frame at once, and then takes its settle function.
      this.#settles.push(resolve);
      this.#outbox.push(frame, "if busy");
    });
  }

  /** See FrameOutbox.hold. */
  hold(): void {
    this.#outbox.hold();
  }

  /** Sends what is queued now. */
  flush(): void {
    this.#outbox.flush();
  }
}

/** How long a client waits for the console to acknowledge a batch before counting it unavailable. */
export const BATCH_ACK_TIMEOUT_MS = 10_000;

/** The part of a socket.io-client socket a client outbox uses. */
interface ClientSocket {
  timeout(ms: number): {
    emit(event: "e2e:frames", frames: TRelayFrame[], ack: (error: unknown, ack: unknown) => void): unknown;
  };
}

/** A client socket's outbox to the console: batches as `e2e:frames`, acknowledged within BATCH_ACK_TIMEOUT_MS. */
export function clientOutbox(socket: ClientSocket): AckedOutbox {
  return new AckedOutbox((frames, onAck) =>
    socket
      .timeout(BATCH_ACK_TIMEOUT_MS)
      .emit("e2e:frames", frames, (error: unknown, ack: unknown) => onAck(error ? undefined : ack)),
  );
}

const NOT_ACKNOWLEDGED: TSocketAck = {
  ok: false,
  error: { code: "unavailable", message: "The console did not acknowledge the frame.", retryable: true },
};

/**
 * Listens for relayed frames however they come: in `e2e:frames` batches or one by one
 * (`e2e:frame`). `onBatch` runs before the frames of a batch of several are handed over: the
 * receiver holds its outbox there (FrameOutbox.hold), so what it sends back leaves as one batch.
 */
export function onRelayFrames(
  socket: { on(event: string, listener: (payload: unknown) => void): unknown },
  listener: (frame: unknown) => void,
  onBatch?: () => void,
): void {
  socket.on("e2e:frame", listener);
  socket.on("e2e:frames", (batch) => {
    if (!Array.isArray(batch) || batch.length > MAX_FRAMES_PER_BATCH) return listener(batch);
    if (batch.length > 1) onBatch?.();
    for (const frame of batch) listener(frame);
  });
}
