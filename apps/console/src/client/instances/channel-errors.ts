/**
 * How an end-to-end channel fails, as the page shows it: transport and protocol errors
 * (ChannelError), typed errors the companion answered (RequestError), and the advisory close
 * reasons a relayed `close` frame carries.
 */
import { fromBase64Url, fromUtf8 } from "@veil/crypto";
import type { TE2EError, TRelayFrame } from "@veil/protocol";

/** Why a channel ended, in words for the page. */
const CLOSE_REASONS: Record<string, string> = {
  grant_refused: "The companion refused your grant.",
  grant_expired: "Your grant on this instance has expired.",
  handshake_failed: "Could not establish a secure channel (the keys did not match).",
  too_many_sessions: "The companion has too many open sessions.",
  replay: "A frame was replayed; the session was closed.",
  gap: "Frames were lost; the session was closed.",
  forgery: "A frame failed authentication; the session was closed.",
  malformed_frame: "A malformed frame was relayed; the session was closed.",
  unsupported_version: "The companion speaks another protocol version.",
  unavailable: "The companion went offline.",
  instance_revoked: "The instance was revoked.",
  conflict: "The console already relays another session under this id; open the session again.",
  internal: "The companion had an internal error.",
};

export class ChannelError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ChannelError";
  }
}

/** A subscription request answered without a stream (`discovery.start` refused); `result` is the parsed answer. */
export class StreamNotStartedError extends ChannelError {
  constructor(readonly result: unknown) {
    super("not_started", "The companion did not start a stream.");
  }
}

/** A typed E2E error from the companion. */
export class RequestError extends Error {
  constructor(readonly error: TE2EError) {
    super(`${error.message} (${error.code})`);
    this.name = "RequestError";
  }
}

/** The close code a relayed `close` frame names (unauthenticated: for wording only). */
export function closeCode(f: TRelayFrame): string {
  try {
    const text = fromUtf8(fromBase64Url(f.frame));
    return /^[a-z_]{1,40}$/.test(text) ? text : "closed";
  } catch {
    return "closed";
  }
}

/** A sentence for a close reason (advisory: close frames are not authenticated). */
export function describeClose(code: string): string {
  return CLOSE_REASONS[code] ?? "The secure session ended.";
}
