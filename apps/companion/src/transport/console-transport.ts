import { io, type Socket } from "socket.io-client";
import {
  COMPANION_NAMESPACE,
  MAX_GRANT_BUNDLE_BYTES,
  MAX_SNAPSHOT_GRANTS,
  MAX_SOCKET_MESSAGE_BYTES,
  type CompanionToConsoleEvents,
  type ConsoleToCompanionEvents,
  type TCompanionSocketAuth,
} from "../protocol";
import { httpsJson, type JsonResponse } from "./https-json";
import { DEFAULT_CONSOLE_TIMEOUT_MS, PinnedAgent } from "./pinned-agent";

/**
 * Largest WebSocket message the companion reads from the console; a bigger one closes the
 * connection (1009) before a byte of it is parsed, and the supervisor reconnects. The console
 * sends two kinds of message: relay batches, which it builds under MAX_SOCKET_MESSAGE_BYTES, and
 * acknowledgements, of which the biggest is the `snapshot:grants` list: up to MAX_SNAPSHOT_GRANTS
 * bundles of up to MAX_GRANT_BUNDLE_BYTES each as the console stores them (about 1 KiB each in
 * practice, so ~1 MiB for a full list; 8 MiB is what the protocol allows). A cap of
 * MAX_SOCKET_MESSAGE_BYTES alone would drop the connection on every snapshot of an instance
 * with more than ~200 grants. The margin covers the socket.io packet header and the ack's JSON.
 * Compression is off (below), so what is parsed is what crossed the wire: ws's default (100 MiB,
 * inflated from ~100 KB) let one message take over 1 GiB of heap before any schema ran.
 */
export const MAX_CONSOLE_MESSAGE_BYTES =
  Math.max(MAX_SOCKET_MESSAGE_BYTES, MAX_SNAPSHOT_GRANTS * (MAX_GRANT_BUNDLE_BYTES + 1)) + 4 * 1024;

/**
 * Options engine.io-client hands to the `ws` client that its types leave out (maxPayload) or
 * type narrower (perMessageDeflate). No permessage-deflate: engine.io-client turns it on by
 * default, and a few KB on the wire must not inflate to a message of MAX_CONSOLE_MESSAGE_BYTES.
 */
const WS_CLIENT_OPTIONS: Record<string, unknown> = {
  perMessageDeflate: false,
  maxPayload: MAX_CONSOLE_MESSAGE_BYTES,
};

/** The socket the supervisor drives: socket.io's typed client socket. */
export type CompanionSocket = Socket<ConsoleToCompanionEvents, CompanionToConsoleEvents>;

/**
 * Everything the companion says to the console goes through this interface, so tests can
 * substitute it; the real one pins the console's TLS key on every connection.
 */
export interface ConsoleTransport {
  /** One JSON request to `path` (under the console origin). */
  requestJson(method: "GET" | "POST", path: string, body?: unknown): Promise<JsonResponse>;
  /** A new, not yet connected, socket.io connection to the companion namespace. */
  openSocket(auth: TCompanionSocketAuth): CompanionSocket;
}

/**
 * The real transport: HTTPS and socket.io (WebSocket only: the polling transport's Node client
 * would not use our agent) through a PinnedAgent. socket.io's own reconnection is off: the
 * supervisor owns reconnects.
 */
export function createPinnedTransport(
  consoleUrl: string,
  pin: string,
  options: { timeoutMs?: number } = {},
): ConsoleTransport {
  const base = new URL(consoleUrl);
  return {
    requestJson(method, path, body) {
      return httpsJson({
        agent: new PinnedAgent(pin),
        url: new URL(path, base),
        method,
        body,
        timeoutMs: options.timeoutMs,
      });
    },
    openSocket(auth) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_CONSOLE_TIMEOUT_MS;
      // The WebSocket client names no timeout to the agent and gives up on a connection without
      // telling it: the agent's own handshake deadline closes a TLS handshake that never ends.
      const agent = new PinnedAgent(pin, { handshakeTimeoutMs: timeoutMs });
      return io(new URL(COMPANION_NAMESPACE, base).toString(), {
        transports: ["websocket"],
        // engine.io-client passes `agent`, `perMessageDeflate` and `maxPayload` to the `ws` client
        // (engine.io-client 6.6 transports/websocket.js); its type says agent is string | boolean.
        agent: agent as unknown as string,
        ...WS_CLIENT_OPTIONS,
        rejectUnauthorized: true,
        auth,
        reconnection: false,
        forceNew: true,
        multiplex: false,
        autoConnect: false,
        timeout: timeoutMs,
      } as Parameters<typeof io>[1]);
    },
  };
}
