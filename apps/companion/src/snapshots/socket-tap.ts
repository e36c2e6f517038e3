import type { TCompanionSocketAuth } from "../protocol";
import type { CompanionSocket, ConsoleTransport } from "../transport/console-transport";

/** A transport that remembers the socket it opened last (the supervisor's live connection). */
export interface TappedTransport {
  readonly transport: ConsoleTransport;
  /** The last socket opened, when it is connected. */
  connected(): CompanionSocket | undefined;
}

/**
 * Wraps `transport` so other parts of the companion (the snapshot uploader) can emit on the
 * supervisor's authenticated socket without owning it: the supervisor still connects,
 * reconnects and tears down; this only keeps a reference to the newest socket.
 */
export function tapTransport(transport: ConsoleTransport): TappedTransport {
  let last: CompanionSocket | undefined;
  return {
    transport: {
      requestJson: (method, path, body) => transport.requestJson(method, path, body),
      openSocket(auth: TCompanionSocketAuth) {
        last = transport.openSocket(auth);
        return last;
      },
    },
    connected: () => (last?.connected === true ? last : undefined),
  };
}
