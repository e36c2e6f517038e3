/**
 * UniFi inform over HTTP: `POST /inform` with a TNBU packet body (application/x-binary).
 * The per-IP token bucket is charged before the body is read; bodies above the cap are cut
 * off unread. Anything but POST /inform is a bare 404. Replies are the encrypted controller
 * reply with status 200; refusals are 400 or 429 with no body and nothing else said (500 when
 * the ingest itself failed, which is counted and logged as `unifi.internal`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DeviceContext } from "./device-context";
import type { UnifiIngest } from "./ingest-unifi";

/** A listening inform server. */
export interface UnifiInformServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the server on `host:port` (0 = any free port). */
export async function startUnifiInformServer(
  ctx: DeviceContext,
  ingest: UnifiIngest,
  options: { host: string; port: number; maxBodyBytes: number },
): Promise<UnifiInformServer> {
  const server = http.createServer(
    { requestTimeout: 15_000, headersTimeout: 10_000, maxHeaderSize: 8192 },
    (req, res) => {
      const ip = req.socket.remoteAddress ?? "unknown";
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
        const out = ingest.handle(new Uint8Array(Buffer.concat(chunks)));
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
  server.maxConnections = 4096;
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
