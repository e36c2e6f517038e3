import type { VerifiedGrant } from "../grants/verify-grant";

/** Why a push stream stopped: its producer ended it, the browser cancelled it, the session closed, the request failed, or its queue overflowed. */
export type StreamStopReason = "ended" | "cancelled" | "session_closed" | "refused" | "overflow";

/** A push-style stream of events (e.g. a terminal's output), named by the request that opened it. */
export interface EventStream {
  /** The subscription id: the id of the request that opened the stream. */
  readonly id: string;
  /** True once the stream ended or is ending; pushes are then refused. */
  readonly ended: boolean;
  /**
   * Sends one event as soon as the request's result went out and the stream's byte budget
   * allows; false when the stream ended or its bounded queue overflowed (the stream then ends
   * with `error`).
   */
  push(body: unknown): boolean;
  /**
   * Events pushed and not sent yet: waiting for the result, the byte budget or the browser's
   * acknowledgements (flow control). A producer that can pause its source does so while this is
   * above zero, and resumes it in `onDrained`.
   */
  readonly waiting: number;
  /** Sends `end` after the events already pushed. */
  end(reason?: "cancelled" | "error"): void;
}

/** What a request handler may use: who asked, the time, and the session's subscriptions. */
export interface RequestContext {
  readonly instanceId: string;
  readonly grant: VerifiedGrant;
  readonly requestId: string;
  /**
   * The relayed E2E session the request arrived on. The responder always sets it and `stream`;
   * both are optional only so that hand-made contexts in unit tests need not fake them.
   */
  readonly sessionId?: string;
  now(): number;
  /**
   * Starts a stream of `type` events every `intervalMs`, named by the request id; returns that
   * id. A tick whose `produce` returns undefined sends nothing.
   */
  subscribe(options: { intervalMs: number; type: string; produce: () => unknown }): string;
  /**
   * Opens a push stream of `type` events named by the request id. Events flow once the
   * request's result was sent; `onStop` runs exactly once when the stream stops for any reason
   * (so the producer can release what feeds it). Counts against the session's subscription cap.
   */
  stream?(options: {
    type: string;
    onStop: (reason: StreamStopReason) => void;
    /** The events that had to wait have all gone out. */
    onDrained?: () => void;
  }): EventStream;
  /** Ends one of this session's subscriptions or push streams; false when there was none. */
  cancelSubscription(subscriptionId: string): boolean;
}

/** Runs one request type; returns its result (validated against the catalogue before sending). */
export type RequestHandler = (body: unknown, context: RequestContext) => unknown;
