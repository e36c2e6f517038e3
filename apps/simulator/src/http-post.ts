/**
 * One binary HTTP(S) POST with a response-size cap: over a shared keep-alive agent, or on a
 * connection of its own (closed after the reply) when it is sent from a device's own address.
 */
import http from "node:http";
import https from "node:https";
import type { SourceOptions } from "./source-address";

/**
 * Shared agents for devices without a source address of their own: thousands of devices reuse
 * a bounded pool of sockets. A device bound to its own address cannot share a socket, and an
 * idle keep-alive socket per device would hold ~half of a 10 s fleet connected to the
 * companion between informs (its server closes idle sockets after 5 s), so those requests
 * use a fresh connection each, as a device on a LAN would.
 */
export const informAgents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 }),
};

/** Status and body of a response. */
export interface PostResult {
  status: number;
  body: Uint8Array;
}

/**
 * POSTs `body` to `url` from `source` (see sourceOptions; none = the system's choice); rejects
 * on network errors, timeouts or a body above `maxBytes`.
 */
export function postBinary(
  url: string,
  body: Uint8Array,
  maxBytes: number,
  { timeoutMs = 10_000, source = {} }: { timeoutMs?: number; source?: SourceOptions } = {},
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      u,
      {
        ...source,
        method: "POST",
        agent:
          source.localAddress !== undefined ? false : u.protocol === "https:" ? informAgents.https : informAgents.http,
        headers: {
          "content-type": "application/x-binary",
          "content-length": body.length,
          "user-agent": "AirControl Agent v1.0",
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) req.destroy(new Error("response too large"));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}
