import { Agent, type AgentOptions } from "node:https";
import type { RequestOptions } from "node:http";
import { isIP } from "node:net";
import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { PinMismatchError, pinsEqual, spkiPinOfCertificate } from "./spki-pin";

/** How long a connection to the console may take (TCP and TLS handshake) when the caller names no timeout. */
export const DEFAULT_CONSOLE_TIMEOUT_MS = 15_000;

/** Thrown when the console (or whatever answers at its address) does not finish the TLS handshake in time. */
export class TlsHandshakeTimeoutError extends Error {
  readonly code = "tls_handshake_timeout";
  constructor(readonly timeoutMs: number) {
    super(`the console did not complete the TLS handshake within ${timeoutMs} ms`);
    this.name = "TlsHandshakeTimeoutError";
  }
}

/**
 * An https.Agent that opens every connection itself and hands the socket to the HTTP (or
 * WebSocket) client only AFTER the TLS handshake completed and the server's public key matched
 * the pin. Node's http Agent accepts an asynchronous `createConnection(options, callback)`, so
 * no request byte — and so no auth key — is ever written to an unverified server.
 *
 * Chain validation is replaced by the pin (like `curl --pinnedpubkey -k`): the pin names the
 * exact key, which is stronger than any CA and is what a self-signed console needs. There is
 * deliberately no option to turn it off. TLS sessions are not cached, so every connection does
 * a full handshake and presents its certificate.
 *
 * The handshake has a deadline of its own: the request's `timeout`, else `handshakeTimeoutMs`
 * (default DEFAULT_CONSOLE_TIMEOUT_MS). Node starts a request's timeout only once the agent hands
 * it a socket, and the WebSocket client gives up on a connection without telling the agent, so
 * without this a server that accepts TCP and never speaks TLS would hold the caller forever, or
 * leave the half-open socket behind on every reconnect attempt.
 */
export class PinnedAgent extends Agent {
  readonly #pin: string;
  readonly #handshakeTimeoutMs: number;

  constructor(pin: string, options: AgentOptions & { handshakeTimeoutMs?: number } = {}) {
    const { handshakeTimeoutMs, ...agentOptions } = options;
    super({ ...agentOptions, keepAlive: false, maxCachedSessions: 0 });
    this.#pin = pin;
    this.#handshakeTimeoutMs = positive(handshakeTimeoutMs) ?? DEFAULT_CONSOLE_TIMEOUT_MS;
  }

  /** Opens a TLS connection and verifies the pin before calling back. Returns nothing: the callback carries the socket. */
  override createConnection(
    options: RequestOptions & { servername?: string },
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const host = options.host ?? "localhost";
    const tlsOptions: ConnectionOptions = {
      host,
      port: Number(options.port ?? 443),
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      ALPNProtocols: ["http/1.1"],
      ...(isIP(host) === 0 ? { servername: options.servername ?? host } : {}),
    };
    const socket: TLSSocket = connect(tlsOptions);
    const timeoutMs = positive(options.timeout) ?? this.#handshakeTimeoutMs;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("error", onError);
      // On error Node's agent only looks at `err`; the socket is already destroyed.
      if (callback !== undefined) callback(err, socket);
    };
    const onError = (err: Error): void => finish(err);
    socket.once("error", onError);
    // Fires whether or not anyone still waits for this socket (the WebSocket client may have given
    // up already): either way a handshake that did not finish must not stay open.
    const timer = setTimeout(() => {
      socket.destroy();
      finish(new TlsHandshakeTimeoutError(timeoutMs));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      const cert = socket.getPeerX509Certificate();
      const presented = cert === undefined ? "" : spkiPinOfCertificate(cert);
      if (!pinsEqual(presented, this.#pin)) {
        socket.destroy();
        finish(new PinMismatchError(presented));
        return;
      }
      finish(null);
    });
    return undefined;
  }
}

/** `ms` when it is a usable timeout (a positive finite number), else undefined. */
function positive(ms: number | undefined): number | undefined {
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
