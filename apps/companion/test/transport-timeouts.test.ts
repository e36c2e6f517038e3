import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../src/protocol";
import { createPinnedTransport } from "../src/transport/console-transport";
import { httpsJson } from "../src/transport/https-json";
import { PinnedAgent, TlsHandshakeTimeoutError } from "../src/transport/pinned-agent";
import { waitUntil } from "./harness/browser";
import { makeSelfSignedCert } from "./harness/certs";

/**
 * A console address that holds the companion instead of answering: a "tarpit" that accepts TCP
 * and never speaks TLS, and a console that answers one byte at a time. Every call must end with
 * an error in its time, and leave no connection open behind it.
 */
describe("transport: deadlines against a console that accepts and never answers", () => {
  const cert = makeSelfSignedCert();
  /** Accepts TCP connections and says nothing. */
  let tarpit: Server;
  const accepted: Socket[] = [];
  /** Answers every request with headers, then a byte every 100 ms, never finishing. */
  let dripping: HttpsServer;
  const drips: NodeJS.Timeout[] = [];

  const portOf = (server: Server): number => (server.address() as AddressInfo).port;
  /** Connections the tarpit accepted since `since` (a count of `accepted`) that are still open. */
  const openSince = (since: number): number => accepted.slice(since).filter((s) => !s.destroyed).length;

  beforeAll(async () => {
    tarpit = createServer((socket) => {
      accepted.push(socket);
      // Reads (and ignores) the ClientHello, so it sees the companion close its end and closes
      // its own, as any server would: `destroyed` says whether the companion let go.
      socket.resume();
      socket.on("error", () => undefined);
    });
    dripping = createHttpsServer({ key: cert.key, cert: cert.cert }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      const timer = setInterval(() => res.write(" "), 100);
      drips.push(timer);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => tarpit.listen(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => dripping.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const s of accepted) s.destroy();
    for (const t of drips) clearInterval(t);
    dripping.closeAllConnections();
    await new Promise((resolve) => tarpit.close(resolve));
    await new Promise((resolve) => dripping.close(resolve));
  });

  it("httpsJson to a server that never completes the TLS handshake rejects within its timeout, with a clear error", async () => {
    const before = accepted.length;
    const started = Date.now();
    const outcome = await Promise.race([
      httpsJson({
        agent: new PinnedAgent(cert.pin),
        url: new URL(`https://127.0.0.1:${portOf(tarpit)}/api/companion/v1/instances/x/enroll`),
        method: "POST",
        body: { authKey: "x" },
        timeoutMs: 300,
      }).then(
        () => "resolved",
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still pending after 3 s"), 3000)),
    ]);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/TLS handshake within 300 ms|did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
    await waitUntil(() => openSince(before) === 0, 1000, "the tarpit's connection closed");
  });

  it("the agent's handshake deadline applies without a request timeout, and closes the connection", async () => {
    const before = accepted.length;
    const agent = new PinnedAgent(cert.pin, { handshakeTimeoutMs: 200 });
    const error = await Promise.race([
      new Promise<Error | null>((resolve) =>
        agent.createConnection({ host: "127.0.0.1", port: portOf(tarpit) }, (err) => resolve(err)),
      ),
      new Promise((resolve) => setTimeout(() => resolve("still pending after 3 s"), 3000)),
    ]);
    expect(error).toBeInstanceOf(TlsHandshakeTimeoutError);
    expect((error as Error).message).toBe("the console did not complete the TLS handshake within 200 ms");
    await waitUntil(() => openSince(before) === 0, 1000, "the tarpit's connection closed");
  });

  it("httpsJson to a console that answers one byte at a time rejects at its deadline (Node's idle timeout never fires)", async () => {
    const started = Date.now();
    const outcome = await Promise.race([
      httpsJson({
        agent: new PinnedAgent(cert.pin),
        url: new URL(`https://127.0.0.1:${(dripping.address() as AddressInfo).port}/api/companion/v1/x`),
        method: "GET",
        timeoutMs: 500,
      }).then(
        () => "resolved",
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still pending after 3 s"), 3000)),
    ]);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe("the console did not answer within 500 ms");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("socket connections that time out in the TLS handshake leave none of their connections open", async () => {
    const before = accepted.length;
    const transport = createPinnedTransport(`https://127.0.0.1:${portOf(tarpit)}`, cert.pin, { timeoutMs: 300 });
    for (let i = 0; i < 5; i++) {
      const socket = transport.openSocket({
        instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
        authKey: "A".repeat(43),
        protocolVersion: PROTOCOL_VERSION,
        companionVersion: "t",
      });
      await new Promise<void>((resolve) => {
        socket.on("connect_error", () => resolve());
        socket.connect();
      });
      socket.disconnect();
    }
    expect(accepted.length - before).toBe(5);
    await waitUntil(() => openSince(before) === 0, 1000, "every connection to the tarpit closed");
  });
});
