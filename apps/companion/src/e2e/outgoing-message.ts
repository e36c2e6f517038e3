/**
 * The one way a message leaves an open session: sealed, relayed, and never larger than the
 * browser accepts. A message that cannot go out is replaced, not thrown: a result by an
 * `internal` error, an event by the end of its subscription or push stream. It runs in timers
 * and stream producers, so it never throws.
 */
import { toBase64Url, utf8, type Session } from "../crypto";
import type { Logger } from "../log";
import { MAX_E2E_MESSAGE_BYTES, type TE2EResponse, type TRelayFrame } from "../protocol";
import { errorResponse } from "./dispatch-request";
import { endWithError, type SessionActions, type SessionStreams } from "./session-context";

/** The session a message goes out on. */
export interface OutgoingSession extends SessionStreams {
  readonly session: Session;
  /** What ends one of its subscriptions when its event cannot go out. */
  readonly actions: SessionActions;
}

/** What sending needs of the responder. */
export interface MessageOutlet<S extends OutgoingSession> {
  readonly instanceId: string;
  readonly logger: Logger;
  /** Sends a frame to the console for relaying. */
  send(frame: TRelayFrame): void;
  /** Whether `live` is still the open session of its id. */
  isOpen(live: S): boolean;
  /** Closes `live` (only if it is still the session of its id) and tells the peer. */
  close(live: S, reason: string): void;
}

/**
 * Seals and sends one message of `live` (`json`: its text when the caller already made it);
 * returns what went out, if anything. A message the browser would refuse (over
 * MAX_E2E_MESSAGE_BYTES of UTF-8; the Noise frame could not carry much more either) or that does
 * not serialize is not sent: see {@link unsendable}. The session stays open then; a seal or send
 * that fails closes it.
 */
export function sendMessage<S extends OutgoingSession>(
  out: MessageOutlet<S>,
  live: S,
  message: TE2EResponse,
  json?: string,
): TE2EResponse | undefined {
  if (!out.isOpen(live)) return undefined;
  let bytes: Uint8Array | undefined;
  let size: number | null = null;
  try {
    const text = json ?? JSON.stringify(message);
    // UTF-8 takes at least one byte per UTF-16 unit: a longer text is too large unencoded.
    size = text.length;
    if (size <= MAX_E2E_MESSAGE_BYTES) {
      bytes = utf8(text);
      size = bytes.length;
    }
  } catch {
    // Not serializable (a cycle, a BigInt): it cannot go out either.
  }
  if (bytes === undefined || bytes.length > MAX_E2E_MESSAGE_BYTES) return unsendable(out, live, message, size);
  try {
    const sealed = live.session.seal(bytes);
    out.send({ instanceId: out.instanceId, sessionId: live.sessionId, kind: "transport", frame: toBase64Url(sealed) });
    return message;
  } catch (error) {
    out.logger.error("sending a message failed: closing the session", {
      sessionId: live.sessionId,
      error: error instanceof Error ? error.name : "unknown",
    });
    try {
      out.close(live, "internal");
    } catch {
      // Logged above; the session is out of the map whatever close did not finish.
    }
    return undefined;
  }
}

/**
 * What goes out instead of `message`, which cannot (`bytes`: its size, null when it does not
 * serialize): a result is answered with `internal`, an event ends its subscription or stream.
 */
function unsendable<S extends OutgoingSession>(
  out: MessageOutlet<S>,
  live: S,
  message: TE2EResponse,
  bytes: number | null,
): TE2EResponse | undefined {
  const log = { sessionId: live.sessionId, kind: message.kind, bytes, limit: MAX_E2E_MESSAGE_BYTES };
  if (message.kind === "result") {
    out.logger.warn("answer too large to send: answered with an error", {
      ...log,
      requestId: message.id,
      type: message.type,
    });
    return sendMessage(out, live, errorResponse(message.id, "internal", "The answer is too large to send."));
  }
  if (message.kind === "event") {
    out.logger.warn("event too large to send: ending its subscription", {
      ...log,
      subscriptionId: message.subscriptionId,
      type: message.type,
    });
    endWithError(live, message.subscriptionId, live.actions);
    return undefined;
  }
  out.logger.error("message too large to send: dropped", log);
  return undefined;
}
