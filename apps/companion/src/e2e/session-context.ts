/**
 * What a request handler gets of the session it arrived on (RequestContext): the time, and the
 * session's timed subscriptions and push streams, within the session's cap. Built by the
 * Responder for each request.
 */
import type { Clock } from "../clock";
import type { VerifiedGrant } from "../grants/verify-grant";
import type { TE2EResponse } from "../protocol";
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
  /** Live subscriptions and push streams together, at most. */
  readonly maxSubscriptions: number;
  readonly pushStreamLimits: PushStreamLimits;
  /** Seals and sends one message on the session (nothing once it is closed). */
  send(message: TE2EResponse): void;
  /** Closes the session and tells the peer why. */
  end(reason: string): void;
  /** Whether the session is still open (a handler that resumes after it closed starts nothing). */
  isOpen(): boolean;
}

/** The RequestContext of request `requestId` on `live`. */
export function requestContext(live: SessionStreams, requestId: string, session: SessionActions): RequestContext {
  const { clock } = session;
  const full = (): boolean => live.subscriptions.size + live.streams.size >= session.maxSubscriptions;
  return {
    instanceId: session.instanceId,
    grant: live.grant,
    requestId,
    sessionId: live.sessionId,
    now: () => clock.now(),
    subscribe: ({ intervalMs, type, produce }) => {
      if (!session.isOpen()) throw new RequestRefusedError("unavailable", "The session is closed.");
      if (full()) throw new SubscriptionLimitError();
      let seq = 0;
      const handle = clock.setInterval(() => {
        if (live.grant.expiresAt <= clock.now()) {
          session.end("grant_expired");
          return;
        }
        const body = produce();
        if (body === undefined) return; // nothing new since the last tick (coalescing producers)
        session.send({ kind: "event", subscriptionId: requestId, seq: seq++, type, body });
      }, intervalMs);
      live.subscriptions.set(requestId, handle);
      return requestId;
    },
    stream: ({ type, onStop }) => {
      if (!session.isOpen()) throw new RequestRefusedError("unavailable", "The session is closed.");
      if (full()) throw new SubscriptionLimitError();
      if (live.streams.has(requestId)) throw new SubscriptionLimitError();
      const send = (message: TE2EResponse): void => {
        if (live.grant.expiresAt <= clock.now()) session.end("grant_expired");
        else session.send(message);
      };
      const stream = new PushStream(requestId, type, send, clock, session.pushStreamLimits, (reason) => {
        if (live.streams.get(requestId) === stream) live.streams.delete(requestId);
        onStop(reason);
      });
      live.streams.set(requestId, stream);
      return stream;
    },
    cancelSubscription: (id) => {
      const pushed = live.streams.get(id);
      if (pushed !== undefined) {
        pushed.stop("cancelled");
        return true;
      }
      const handle = live.subscriptions.get(id);
      if (handle === undefined) return false;
      clock.clearInterval(handle);
      live.subscriptions.delete(id);
      session.send({ kind: "end", subscriptionId: id, reason: "cancelled" });
      return true;
    },
  };
}
