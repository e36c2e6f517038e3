/**
 * The devices' HTTPS management API on ONE listening socket. A plain TCP server accepts every
 * connection, picks the device by the address the client dialled (`socket.localAddress`, each
 * device has its own 127.x.y.z), wraps the socket in TLS with that device's own self-signed
 * certificate (made on first use), and hands it to an HTTP server. Plain HTTP fails the TLS
 * handshake and is refused. Per-device certificates let the companion pin each device on
 * first use; `rotateCertificate` simulates a changed device.
 */
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import type { SimContext } from "./context";
import type { SimDevice } from "./device";
import { makeCertificate, type TlsIdentity } from "./certificates";
import { AdminRoutes, type AdoptHandler } from "./admin-routes";

/** A running management API. */
export interface AdminHandle {
  readonly port: number;
  /** The device's current certificate fingerprint (SHA-256 hex), making it if needed. */
  fingerprint(device: SimDevice): Promise<string>;
  /** Replaces a device's certificate (a "changed device" for TOFU tests). */
  rotateCertificate(device: SimDevice): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the management API on host:port (port 0 = any free port). */
export async function startAdminServer(
  ctx: SimContext,
  devices: readonly SimDevice[],
  host: string,
  port: number,
  onAdopt: AdoptHandler,
): Promise<AdminHandle> {
  const byIp = new Map(devices.map((d) => [d.ip, d]));
  const identities = new Map<string, Promise<TlsIdentity>>();
  const contexts = new WeakMap<TlsIdentity, tls.SecureContext>();
  const identity = (d: SimDevice): Promise<TlsIdentity> => {
    let p = identities.get(d.mac);
    if (!p) {
      p = makeCertificate(d.hostname, [d.ip]);
      identities.set(d.mac, p);
    }
    return p;
  };
  const routes = new AdminRoutes(ctx, onAdopt);
  const httpServer = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, (req, res) => {
    const d = byIp.get(((req.socket as tls.TLSSocket).localAddress ?? "").replace(/^::ffff:/, ""));
    if (!d) return res.destroy();
    routes.handle(d, req, res);
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const d = byIp.get((socket.localAddress ?? "").replace(/^::ffff:/, ""));
    if (!d || ctx.stopped || !d.isOnline(ctx.now())) return socket.destroy();
    identity(d).then(
      (id) => {
        let secureContext = contexts.get(id);
        if (!secureContext) {
          secureContext = tls.createSecureContext({ key: id.keyPem, cert: id.certPem, minVersion: "TLSv1.2" });
          contexts.set(id, secureContext);
        }
        const t = new tls.TLSSocket(socket, { isServer: true, secureContext });
        t.on("error", () => t.destroy());
        socket.resume();
        httpServer.emit("connection", t);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    fingerprint: async (d) => (await identity(d)).fingerprint,
    rotateCertificate: async (d) => {
      identities.delete(d.mac);
      return (await identity(d)).fingerprint;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        httpServer.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
