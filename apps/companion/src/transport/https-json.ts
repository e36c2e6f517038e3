import { request } from "node:https";
import type { Agent } from "node:https";

/** Largest response body accepted from the console. */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/** A JSON response: status and parsed body (undefined when not JSON). */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * One HTTPS request with a JSON body through `agent` (a PinnedAgent), with a timeout and a
 * response size cap. Redirects are not followed (a console never redirects its API).
 */
export function httpsJson(options: {
  agent: Agent;
  url: URL;
  method: "GET" | "POST";
  body?: unknown;
  timeoutMs?: number;
}): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), "utf8");
    const req = request(
      options.url,
      {
        agent: options.agent,
        method: options.method,
        headers: {
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(payload.length) }),
        },
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error("console response too large"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text === "" ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("console request timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}
