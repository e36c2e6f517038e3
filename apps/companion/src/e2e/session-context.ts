/**
 * What a request handler gets of the session it arrived on (RequestContext): the time, and the
 * session's timed subscriptions and push streams, within the session's cap. Built by the
 * Responder for each request.
 */
import type { Clock } from "../clock";
import type { VerifiedGrant } from "../grants/verify-grant";
import type { Logger } from "../log";
import { ZE2EAckSchema, type TE2EResponse } from "../protocol";
import { RequestRefusedError, SubscriptionLimitError } from "./dispatch-request";
import { PushStream, type PushStreamLimits } from "./push-stream";
import type { RequestContext } from "./request-context";

/** The subscriptions and push streams of one open session. */
export interface SessionStreams {
  readonly sessionId: string;
  readonly grant: VerifiedGrant;
  readonly subscriptions: Map<string, unknown>;
  readonly streams: Map<string, PushStream>;
}

/** What the session's owner lends its requests: how to answer on it and how to end it. */
export interface SessionActions {
  readonly instanceId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Live subscriptions and push streams together, at most. */
  readonly maxSubscriptions: number;
  readonly pushStreamLimits: PushStreamLimits;
  /**
   * Seals and sends one message on the session (nothing once it is closed). Never throws; an
   * event too large to send ends its subscription or stream with `error` (see endWithError).
   */
  send(message: TE2EResponse): void;
  /** Closes the session and tells the peer why (nothing once it is closed, whatever reuses its id). */
  end(reason: string): void;
  /** Whether the session is still open (a handler that resumes after it closed starts nothing). */
  isOpen(): boolean;
}

/** Ends timed subscription `id` of `live`: its timer stops, and the peer gets `end` with `reason`. False when there was none. */
function endSubscription(
  live: SessionStreams,
  id: string,
  reason: "cancelled" | "error",
  session: SessionActions,
): boolean {
  const handle = live.subscriptions.get(id);
  if (handle === undefined) return false;
  session.clock.clearInterval(handle);
  live.subscriptions.delete(id);
  session.send({ kind: "end", subscriptionId: id, reason });
  return true;
}

/**
 * Ends subscription or push stream `id` of `live` at once with `error` (its event could not be
 * made or sent); the session stays open. False when there was none.
 */
export function endWithError(live: SessionStreams, id: string, session: SessionActions): boolean {
  const stream = live.streams.get(id);
  if (stream === undefined) return endSubscription(live, id, "error", session);
  stream.fail();
  return true;
}

/**
 * A browser's `ack` for one of `live`'s push streams (flow control); false when it is malformed.
 * One for no live push stream (it ended, or it names a timed subscription) or for an event not
 * sent yet changes nothing.
 */
export function acknowledgeStream(live: SessionStreams, message: unknown): boolean {
  const ack = ZE2EAckSchema.safeParse(message);
  if (!ack.success) return false;
  live.streams.get(ack.data.subscriptionId)?.acknowledge(ack.data.seq);
  return true;
}

/** Stops every timed subscription and push stream of `live`, whose session closed (nothing is sent). Never throws. */
export function stopStreams(live: SessionStreams, clock: Clock, logger: Logger): void {
  for (const handle of live.subscriptions.values()) clock.clearInterval(handle);
  live.subscriptions.clear();
  for (const stream of [...live.streams.values()]) {
    try {
      stream.stop("session_closed");
    } catch (error) {
      logger.error("stopping a stream failed", {
        sessionId: live.sessionId,
        error: error instanceof Error ? error.name : "unknown",
      });
    }
  }
}

/** The RequestContext of request `requestId` on `live`. */
export function requestContext(live: SessionStreams, requestId: string, session: SessionActions): RequestContext {
  const { clock } = session;
  // Refused before anything starts: the session closed, the id names a subscription or stream
  // still live (a request id may come again once its replay record expired; the first must not
  // be orphaned, its timer running on), or the session holds its maximum.
  const check = (): void => {
    if (!session.isOpen()) throw new RequestRefusedError("unavailable", "The session is closed.");
    if (live.subscriptions.has(requestId) || live.streams.has(requestId))
      throw new RequestRefusedError("bad_request", "A subscription with this request id is still live.");
    if (live.subscriptions.size + live.streams.size >= session.maxSubscriptions) throw new SubscriptionLimitError();
  };
  return {
    instanceId: session.instanceId,
    grant: live.grant,
    requestId,
    sessionId: live.sessionId,
    now: () => clock.now(),
    subscribe: ({ intervalMs, type, produce }) => {
      check();
      let seq = 0;
      const handle = clock.setInterval(() => {
        // A tick of a subscription no longer live (ended, or its session closed) only stops its timer.
        if (live.subscriptions.get(requestId) !== handle || !session.isOpen()) {
          clock.clearInterval(handle);
          return;
        }
        // Runs in a timer: nothing may throw out of it (that would end the companion).
        try {
          if (live.grant.expiresAt <= clock.now()) {
            session.end("grant_expired");
            return;
          }
          const body = produce();
          if (body === undefined) return; // nothing new since the last tick (coalescing producers)
          session.send({ kind: "event", subscriptionId: requestId, seq: seq++, type, body });
        } catch (error) {
          session.logger.error("subscription failed: ending it", {
            sessionId: live.sessionId,
            subscriptionId: requestId,
            type,
            error: error instanceof Error ? error.name : "unknown",
          });
          clock.clearInterval(handle);
          if (live.subscriptions.get(requestId) === handle) endSubscription(live, requestId, "error", session);
        }
      }, intervalMs);
      live.subscriptions.set(requestId, handle);
      return requestId;
    },
    stream: ({ type, onStop, onDrained }) => {
      check();
      const send = (message: TE2EResponse): void => {
        if (live.grant.expiresAt <= clock.now()) session.end("grant_expired");
        else session.send(message);
      };
      const stream = new PushStream(
        requestId,
        type,
        send,
        clock,
        session.pushStreamLimits,
        (reason) => {
          if (live.streams.get(requestId) === stream) live.streams.delete(requestId);
          onStop(reason);
        },
        onDrained,
      );
      live.streams.set(requestId, stream);
      return stream;
    },
    cancelSubscription: (id) => {
      const pushed = live.streams.get(id);
      if (pushed !== undefined) {
        pushed.stop("cancelled");
        return true;
      }
      return endSubscription(live, id, "cancelled", session);
    },
  };
}
