import type { TRelayFrame, TSessionEnded, TSocketAck } from "../socket";
import type { SnapshotCompanionToConsoleEvents } from "./snapshots";

/**
 * socket.io namespace companions connect to (docs/PROTOCOL-COMPANION.md, "Socket"). The
 * handshake `auth` is `ZCompanionSocketAuthSchema`; the transport is WebSocket only.
 */
export const COMPANION_NAMESPACE = "/companion";

/** `connect_error` messages (err.message) the console uses to refuse a companion. */
export const COMPANION_CONNECT_ERRORS = {
  /** auth failed validation */
  badRequest: "bad_request",
  /** unknown instance or wrong auth key */
  unauthenticated: "unauthenticated",
  /** instance revoked: the companion stops and never retries */
  revoked: "instance_revoked",
  /** protocol version not served */
  unsupportedVersion: "protocol_version_unsupported",
  /** too many attempts */
  rateLimited: "rate_limited",
} as const;

/** Events the console emits on a companion socket. */
export interface ConsoleToCompanionEvents {
  /** A browser's frame for this instance (kind handshake | transport | close). */
  "e2e:frame": (frame: TRelayFrame) => void;
  /** Browsers' frames in order, to a companion that announced protocol version 2 (relay-batch.ts). */
  "e2e:frames": (frames: TRelayFrame[]) => void;
  /** The console ends this companion's connection (revocation): stop, do not reconnect. */
  "session:ended": (body: TSessionEnded) => void;
}

/** Events a companion emits to the console (snapshot uploads: ./snapshots.ts). */
export interface CompanionToConsoleEvents extends SnapshotCompanionToConsoleEvents {
  /** A frame for the browser session `sessionId`; acknowledged ok or with a stable error. */
  "e2e:frame": (frame: TRelayFrame, ack: (result: TSocketAck) => void) => void;
  /** Frames in order (relay-batch.ts): one result per frame, or one for a batch that could not be read. */
  "e2e:frames": (frames: TRelayFrame[], ack: (results: TSocketAck[] | TSocketAck) => void) => void;
}
