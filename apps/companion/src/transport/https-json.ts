import { request } from "node:https";
import type { Agent } from "node:https";
import { DEFAULT_CONSOLE_TIMEOUT_MS } from "./pinned-agent";

/** Largest response body accepted from the console. */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/** A JSON response: status and parsed body (undefined when not JSON). */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * One HTTPS request with a JSON body through `agent` (a PinnedAgent), with a response size cap
 * and a deadline: `timeoutMs` (default DEFAULT_CONSOLE_TIMEOUT_MS) for the whole exchange, from
 * the TCP connect to the last byte of the answer. Node's own `timeout` is kept too, but it is
 * only an idle timer that starts once the request has a socket: a console that accepts and never
 * finishes TLS, or answers one byte every few seconds, would hold `enroll`, `rotate` (and the
 * daemon's rotation lock) forever. Redirects are not followed (a console never redirects its API).
 */
export function httpsJson(options: {
  agent: Agent;
  url: URL;
  method: "GET" | "POST";
  body?: unknown;
  timeoutMs?: number;
}): Promise<JsonResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONSOLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), "utf8");
    /** Ends the request with `error` (once: later calls change nothing). */
    const fail = (error: Error): void => {
      clearTimeout(deadline);
      req.destroy(error);
      reject(error);
    };
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
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            fail(new Error("console response too large"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          clearTimeout(deadline);
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text === "" ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", fail);
      },
    );
    const deadline = setTimeout(() => fail(new Error(`the console did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.on("timeout", () => fail(new Error("console request timed out")));
    req.on("error", fail);
    req.end(payload);
  });
}
