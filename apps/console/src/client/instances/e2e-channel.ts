/**
 * The browser end of an end-to-end session with one instance's companion, relayed by the
 * console (docs/PROTOCOL-COMPANION.md §4, docs/PROTOCOL-SESSION.md). Same logic as the
 * companion's in-process test browser (apps/companion/test/harness/browser.ts), over the tab's
 * own socket.io connection:
 *
 *   handshake frame = session-open(grant bundle JSON, Noise_KK message 1)  → companion
 *   handshake frame = Noise message 2 (payload: the companion's hello)     ← companion
 *   transport frames = Session.seal/open of ZE2ERequest / ZE2EResponse JSON
 *
 * The console sees only the grant bundle (public), sizes and timing. Every frame that does not
 * open (replay, reorder, gap, forgery) ends the session; nothing from it is used. Responses are
 * parsed with the request catalogue's result schema before the page sees them.
 */
import {
  fromBase64Url,
  fromUtf8,
  initiateSession,
  randomBytes,
  SessionError,
  toBase64Url,
  useSodiumAead,
  utf8,
  type BoxPrivateKey,
  type Session,
} from "@veil/crypto";
import {
  clientOutbox,
  encodeSessionOpen,
  MAX_REQUEST_TTL_MS,
  onRelayFrames,
  parseE2EResponse,
  parseRelayFrame,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL_VERSION,
  REQUEST_CATALOGUE,
  ZCompanionHelloSchema,
  type AckedOutbox,
  type TCompanionHello,
  type TE2EResponse,
  type TGrantBundle,
  type TRelayFrame,
  type TRequestType,
  type TSocketAck,
} from "@veil/protocol";
import type { Socket } from "socket.io-client";
import type { z } from "zod";
import { sessionToken } from "./session-token";

import { ChannelError, closeCode, describeClose, RequestError } from "./channel-errors";
import { ChannelStreams, type Stream, type StreamHandlers } from "./channel-streams";
export { ChannelError, describeClose, RequestError, StreamNotStartedError } from "./channel-errors";
export type { Stream, StreamHandlers } from "./channel-streams";

/**
 * libsodium's ChaCha20-Poly1305 in place of @noble's for every session of this tab: the same bytes,
 * three times faster (@veil/crypto, primitives/sodium.ts). Loaded once, with the first session; if
 * it cannot load (its chunk missing, WebAssembly refused), @noble seals every frame and the
 * browser's console says why.
 */
let sodiumAead: Promise<void> | undefined;
const fastAead = (): Promise<void> =>
  (sodiumAead ??= useSodiumAead().catch((error: unknown) => {
    console.error("libsodium did not load; end-to-end frames are sealed with @noble instead", error);
  }));

export interface ChannelOptions {
  readonly instanceId: string;
  readonly accountId: string;
  readonly accountBoxPrivateKey: BoxPrivateKey;
  /** From the VERIFIED instance certificate. */
  readonly instanceBoxPublicKey: Uint8Array;
  readonly bundle: TGrantBundle;
  readonly onClose: (reason: string) => void;
  /** How far the site's clock may run ahead of this browser's (REQUEST_CLOCK_ALLOWANCE_MS; tests shorten it). */
  readonly clockAllowanceMs?: number;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;
/**
 * A request expires this long after the page stops waiting for it: the companion refuses an
 * expired request by its own clock, so a site clock up to this far ahead of the browser's still
 * runs every request (NTP is not a given on site hosts).
 */
export const REQUEST_CLOCK_ALLOWANCE_MS = 45_000;

type Waiter = {
  resolve: (r: TE2EResponse) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The request's type and expiry, for the words when it ends unanswered. */
  type: string;
  expiresAt: number;
  /** Runs synchronously when the result arrives, before any later frame is read (subscriptions). */
  onResult?: (r: TE2EResponse) => void;
};

/** What a sent request that ended without an answer adds to the reason. */
const outcomeUnknown = (w: Pick<Waiter, "type" | "expiresAt">): string =>
  `Whether your request (${w.type}) ran is unknown; it cannot start after ${new Date(w.expiresAt).toLocaleTimeString()}.`;

export class InstanceChannel {
  readonly sessionId = toBase64Url(randomBytes(16));
  hello: TCompanionHello | null = null;
  #socket: Socket | null = null;
  /** Frames to the console, batched per turn of the event loop (relay-batch.ts). */
  #outbox: AckedOutbox | null = null;
  #session: Session | null = null;
  #closed = false;
  #onHandshake: ((f: TRelayFrame) => void) | null = null;
  readonly #waiters = new Map<string, Waiter>();
  /** Live streams; a cancel is sent like any request, and not once the channel is closed. */
  readonly #streams = new ChannelStreams(
    (subscriptionId) => {
      this.#request("subscription.cancel", { subscriptionId }, 15_000).catch(() => undefined);
    },
    () => this.#closed,
    (subscriptionId, seq) => this.#sendSealed({ kind: "ack", subscriptionId, seq }),
    () => this.hello?.streamWindowBytes,
  );

  constructor(private readonly options: ChannelOptions) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Connects the socket, runs the Noise_KK handshake; resolves with the companion's authenticated hello. */
  async open(): Promise<TCompanionHello> {
    const { instanceId, accountId, accountBoxPrivateKey, instanceBoxPublicKey, bundle } = this.options;
    const [{ io }] = await Promise.all([import("socket.io-client"), fastAead()]);
    const socket = io(window.location.origin, {
      auth: { token: sessionToken(), protocolVersion: PROTOCOL_VERSION },
      withCredentials: false,
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
    });
    this.#socket = socket;
    const outbox = clientOutbox(socket);
    this.#outbox = outbox;
    // What the page sends in answer to a batch of frames leaves as one batch (FrameOutbox.hold).
    onRelayFrames(
      socket,
      (raw) => this.#onFrame(raw),
      () => outbox.hold(),
    );
    socket.on("disconnect", () => this.close("unavailable"));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", () =>
        reject(new ChannelError("unavailable", "Could not connect to the console's relay.")),
      );
    });

    const pending = initiateSession({
      protocolVersion: SESSION_PROTOCOL_VERSION,
      instanceId,
      accountId,
      accountSecretKey: accountBoxPrivateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ChannelError("timeout", "The companion did not answer the handshake.")),
        HANDSHAKE_TIMEOUT_MS,
      );
      this.#onHandshake = (f) => {
        clearTimeout(timer);
        this.#onHandshake = null;
        if (f.kind === "close") reject(new ChannelError(closeCode(f), describeClose(closeCode(f))));
        else resolve(f);
      };
    });
    reply.catch(() => undefined);
    const ack = await this.#send({
      instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(JSON.stringify(bundle), pending.message)),
    });
    if (!ack.ok) {
      this.close(ack.error.code);
      throw new ChannelError(
        ack.error.code,
        ack.error.code === "unavailable" ? "The companion is offline." : ack.error.message,
      );
    }
    let f: TRelayFrame;
    try {
      f = await reply;
    } catch (error) {
      this.close(error instanceof ChannelError ? error.code : "timeout");
      throw error;
    }
    try {
      const { session, payload } = pending.finish(fromBase64Url(f.frame));
      const hello = ZCompanionHelloSchema.parse(JSON.parse(fromUtf8(payload)));
      if (hello.instanceId.toLowerCase() !== instanceId.toLowerCase()) throw new Error("hello for another instance");
      this.#session = session;
      this.hello = hello;
      return hello;
    } catch {
      this.close("handshake_failed");
      throw new ChannelError("handshake_failed", describeClose("handshake_failed"));
    }
  }

  /** Sends one request and resolves with its result, parsed with the catalogue's result schema. */
  request<T extends TRequestType>(
    type: T,
    body: z.input<(typeof REQUEST_CATALOGUE)[T]["body"]>,
    timeoutMs = 15_000,
  ): Promise<z.output<(typeof REQUEST_CATALOGUE)[T]["result"]>> {
    return this.#request(type, body, timeoutMs);
  }

  /**
   * Starts a live stream: sends the subscription request `type` (its result carries the
   * `subscriptionId`), then delivers every `eventType` event parsed with `eventSchema`. An event
   * that does not parse, or arrives out of sequence, ends the stream (the session itself
   * guarantees order; a gap means the companion dropped events). Handlers are registered before
   * any event can be read, so none is lost between the result and the first event.
   */
  subscribe<T extends TRequestType, E>(
    type: T,
    body: z.input<(typeof REQUEST_CATALOGUE)[T]["body"]>,
    eventType: string,
    eventSchema: z.ZodType<E>,
    handlers: StreamHandlers<E>,
  ): Promise<Stream> {
    return this.#streams.start(
      (onResult) => this.#request(type, body, 15_000, onResult),
      eventType,
      eventSchema,
      handlers,
    );
  }

  /**
   * One request. It expires (`expiresAt`, which the companion enforces by its clock)
   * REQUEST_CLOCK_ALLOWANCE_MS after the page stops waiting for it, and the page says until when
   * a request it reports as unanswered could still start, however long the console held it (as
   * long as the site's clock is not behind this browser's). Once the frame is sealed and sent,
   * the console's word is never the request's outcome: a console that says it did not relay a
   * frame may have relayed it. Such an acknowledgement ends the session (if it is true, the Noise
   * counters are out of step anyway), and the request is reported as "whether it ran is unknown".
   */
  async #request<T extends TRequestType>(
    type: T,
    body: unknown,
    timeoutMs: number,
    onResult?: (r: TE2EResponse) => void,
  ): Promise<z.output<(typeof REQUEST_CATALOGUE)[T]["result"]>> {
    if (!this.#session || this.#closed) throw new ChannelError("closed", "The secure session is closed.");
    const id = crypto.randomUUID();
    const wait = Math.min(timeoutMs, MAX_REQUEST_TTL_MS);
    const allowance = this.options.clockAllowanceMs ?? REQUEST_CLOCK_ALLOWANCE_MS;
    const expiresAt = Date.now() + Math.min(wait + allowance, MAX_REQUEST_TTL_MS);
    const message = { kind: "request", id, expiresAt, type, body };
    const response = new Promise<TE2EResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(
          new ChannelError("timeout", `The companion did not answer in time. ${outcomeUnknown({ type, expiresAt })}`),
        );
      }, wait);
      this.#waiters.set(id, { resolve, reject, timer, type, expiresAt, ...(onResult ? { onResult } : {}) });
    });
    response.catch(() => undefined);
    // The acknowledgement is not the outcome (see above): a refusal ends the session, and the
    // answer, a close or the expiry settles the request.
    this.#sendSealed(message);
    const r = await response;
    if (r.kind === "error") throw new RequestError(r.error);
    if (r.kind !== "result" || r.type !== type)
      throw new ChannelError("bad_response", "The companion answered another request.");
    const spec = REQUEST_CATALOGUE[type];
    const parsed = spec.result.safeParse(r.body);
    if (!parsed.success) throw new ChannelError("bad_response", "The companion's answer has an unexpected shape.");
    return parsed.data as z.output<(typeof REQUEST_CATALOGUE)[T]["result"]>;
  }

  /** Ends the session: wipes its keys, frees the relay, fails pending requests. */
  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    if (socket?.connected && this.#session) {
      void this.#outbox?.send({
        instanceId: this.options.instanceId,
        sessionId: this.sessionId,
        kind: "close",
        frame: "",
      });
    }
    // Out before the socket closes: anything still queued, this close frame last.
    this.#outbox?.flush();
    this.#outbox = null;
    this.#session?.close();
    this.#session = null;
    // Each was sent: the companion may have run it, and a console holding its frame can still
    // deliver it until it expires.
    for (const [, w] of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new ChannelError(reason, `${describeClose(reason)} ${outcomeUnknown(w)}`));
    }
    this.#waiters.clear();
    this.#streams.endAll();
    socket?.removeAllListeners();
    socket?.disconnect();
    this.#socket = null;
    this.options.onClose(reason);
  }

  /**
   * Seals one message on the session and sends it. A console that refuses the frame ends the
   * session: if it really did not relay it, the Noise counters are out of step anyway.
   */
  #sendSealed(message: object): void {
    const session = this.#session;
    if (!session || this.#closed) return;
    void this.#send({
      instanceId: this.options.instanceId,
      sessionId: this.sessionId,
      kind: "transport",
      frame: toBase64Url(session.seal(utf8(JSON.stringify(message)))),
    }).then((ack) => {
      if (!ack.ok) this.close(ack.error.code);
    });
  }

  #send(frame: TRelayFrame): Promise<TSocketAck> {
    const outbox = this.#outbox;
    if (!outbox)
      return Promise.resolve({ ok: false, error: { code: "unavailable", message: "Not connected.", retryable: true } });
    return outbox.send(frame);
  }

  #onFrame(raw: unknown): void {
    const f = parseRelayFrame(raw);
    if (!f) return;
    if (f.sessionId !== this.sessionId || f.instanceId.toLowerCase() !== this.options.instanceId.toLowerCase()) return;
    if (f.kind === "close") {
      if (this.#onHandshake) return this.#onHandshake(f);
      return this.close(closeCode(f));
    }
    if (f.kind === "handshake") {
      this.#onHandshake?.(f);
      return;
    }
    const session = this.#session;
    if (!session) return;
    let msg: TE2EResponse | null;
    let bytes: number;
    try {
      const plaintext = session.open(fromBase64Url(f.frame));
      bytes = plaintext.length;
      msg = parseE2EResponse(JSON.parse(fromUtf8(plaintext)));
    } catch (error) {
      // Replay, reorder, gap, forgery or garbage: this session cannot be trusted any more.
      return this.close(error instanceof SessionError ? error.code : "malformed_frame");
    }
    if (!msg) return this.close("malformed_frame");
    if ((msg.kind === "result" || msg.kind === "error") && msg.id !== null) {
      const w = this.#waiters.get(msg.id);
      if (!w) return this.#streams.cancelLate(msg);
      clearTimeout(w.timer);
      this.#waiters.delete(msg.id);
      w.onResult?.(msg);
      w.resolve(msg);
      return;
    }
    if (msg.kind === "event" || msg.kind === "end") this.#streams.onMessage(msg, bytes);
  }
}
