/** One binary HTTP(S) POST with a response-size cap, over a shared keep-alive agent. */
import http from "node:http";
import https from "node:https";

/** Shared agents: thousands of devices reuse a bounded pool of sockets. */
export const informAgents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 }),
};

/** Status and body of a response. */
export interface PostResult {
  status: number;
  body: Uint8Array;
}

/** POSTs `body` to `url`; rejects on network errors, timeouts or a body above `maxBytes`. */
export function postBinary(url: string, body: Uint8Array, maxBytes: number, timeoutMs = 10_000): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      u,
      {
        method: "POST",
        agent: u.protocol === "https:" ? informAgents.https : informAgents.http,
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
