import { Agent, type AgentOptions } from "node:https";
import type { RequestOptions } from "node:http";
import { isIP } from "node:net";
import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { PinMismatchError, pinsEqual, spkiPinOfCertificate } from "./spki-pin";

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
 */
export class PinnedAgent extends Agent {
  readonly #pin: string;

  constructor(pin: string, options: AgentOptions = {}) {
    super({ ...options, keepAlive: false, maxCachedSessions: 0 });
    this.#pin = pin;
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
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      socket.off("error", onError);
      // On error Node's agent only looks at `err`; the socket is already destroyed.
      if (callback !== undefined) callback(err, socket);
    };
    const onError = (err: Error): void => finish(err);
    socket.once("error", onError);
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
