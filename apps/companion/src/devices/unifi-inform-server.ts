/**
 * UniFi inform over HTTP: `POST /inform` with a TNBU packet body (application/x-binary).
 * Sockets are limited before HTTP sees them: each source (IPv4 address, IPv6 /64) may hold
 * `maxConnectionsPerSource` at once and open new ones at `informConnectionsPerIp`, so
 * one host holding idle sockets cannot use up the server's `maxConnections` and lock every
 * device out; a socket that sends no complete header within `headersTimeoutMs`, or stays idle
 * `idleTimeoutMs`, is closed. The per-source token bucket is charged again per request, before
 * the body is read; bodies above the cap are cut off unread. Anything but POST /inform is a
 * bare 404. Replies are the encrypted controller reply with status 200; refusals are 400 or
 * 429 with no body and nothing else said (500 when the ingest itself failed, which is counted
 * and logged as `unifi.internal`).
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { DeviceContext } from "./device-context";
import type { UnifiIngest } from "./ingest-unifi";
import { admitSockets } from "./socket-admission";
import { hostKey, sourceKey } from "./token-bucket";

/** Socket limits and timeouts of the inform server. */
export interface InformServerLimits {
  /** Sockets open at once, all sources together. */
  readonly maxConnections: number;
  /**
   * Sockets one source may hold at once. Devices inform over short requests (a real one holds
   * one socket for milliseconds every 10 s), so even a NAT of many devices stays far below.
   */
  readonly maxConnectionsPerSource: number;
  /** A request's headers must be complete this long after it started (slowloris). */
  readonly headersTimeoutMs: number;
  /** A whole request must be in this long after it started. */
  readonly requestTimeoutMs: number;
  /** A socket with nothing to read or write this long is closed (also before any request). */
  readonly idleTimeoutMs: number;
  /** How long a kept-alive socket waits for its next request. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_INFORM_SERVER_LIMITS: InformServerLimits = {
  maxConnections: 4096,
  maxConnectionsPerSource: 64,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 2000,
};

/** A listening inform server. */
export interface UnifiInformServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the server on `host:port` (0 = any free port). */
export async function startUnifiInformServer(
  ctx: DeviceContext,
  ingest: UnifiIngest,
  options: { host: string; port: number; maxBodyBytes: number } & Partial<InformServerLimits>,
): Promise<UnifiInformServer> {
  const limits: InformServerLimits = { ...DEFAULT_INFORM_SERVER_LIMITS, ...options };
  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      maxHeaderSize: 8192,
    },
    (req, res) => {
      const ip = sourceKey(req.socket.remoteAddress);
      const end = (status: number, body?: Uint8Array): void => {
        if (body) res.writeHead(status, { "content-type": "application/x-binary", "content-length": body.length });
        else res.writeHead(status, { "content-length": 0 });
        res.end(body);
      };
      if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/inform") {
        ctx.counters.add("unifi.not_inform");
        req.resume();
        return end(404);
      }
      if (!ctx.perIp.take(`unifi/${ip}`)) {
        ctx.counters.add("unifi.rate_limited_ip");
        res.setHeader("connection", "close");
        req.resume();
        return end(429);
      }
      const declared = Number(req.headers["content-length"] ?? "0");
      if (declared > options.maxBodyBytes) {
        ctx.counters.add("unifi.too_large");
        res.setHeader("connection", "close");
        end(413);
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let aborted = false;
      req.on("data", (c: Buffer) => {
        if (aborted) return;
        size += c.length;
        if (size > options.maxBodyBytes) {
          aborted = true;
          ctx.counters.add("unifi.too_large");
          res.setHeader("connection", "close");
          end(413);
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        if (aborted) return;
        const out = ingest.handle(new Uint8Array(Buffer.concat(chunks)), ip, hostKey(req.socket.remoteAddress));
        if (out.kind === "reply") end(200, out.body);
        else end(out.status);
      });
      req.on("error", () => {
        aborted = true;
      });
    },
  );
  server.on("clientError", (_err, socket) => {
    ctx.counters.add("unifi.http_error");
    socket.destroy();
  });
  // Idle sockets (none of http's timers run before a request's first byte) are destroyed.
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
    ctx.counters.add("unifi.idle_timeout");
    socket.destroy();
  });
  admitSockets(server, {
    prefix: "unifi",
    maxPerHost: limits.maxConnectionsPerSource,
    connections: ctx.informConnectionsPerIp,
    counters: ctx.counters,
  });
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
