import { io, type Socket } from "socket.io-client";
import {
  COMPANION_NAMESPACE,
  type CompanionToConsoleEvents,
  type ConsoleToCompanionEvents,
  type TCompanionSocketAuth,
} from "../protocol";
import { httpsJson, type JsonResponse } from "./https-json";
import { PinnedAgent } from "./pinned-agent";

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
      const agent = new PinnedAgent(pin);
      return io(new URL(COMPANION_NAMESPACE, base).toString(), {
        transports: ["websocket"],
        // engine.io-client passes `agent` to the `ws` client; its type says string | boolean.
        agent: agent as unknown as string,
        rejectUnauthorized: true,
        auth,
        reconnection: false,
        forceNew: true,
        multiplex: false,
        autoConnect: false,
        timeout: options.timeoutMs ?? 15_000,
      } as Parameters<typeof io>[1]);
    },
  };
}
