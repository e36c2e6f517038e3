import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { VeilError } from "@veil/protocol";
import { sendError } from "./respond";
import { guardResponseHeaders } from "./security-headers";

const HOST_RE = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

export interface PlainHttpOptions {
  readonly httpsPort: () => number;
  readonly publicOrigin: string | null;
  readonly acmeChallenges: () => ReadonlyMap<string, string>;
}

/**
 * The plain-HTTP port does two things only: answer ACME HTTP-01 challenges, and redirect
 * browser GET/HEAD to HTTPS (308). API and socket.io requests are refused with a JSON 403 —
 * never redirected, so a client that sent a token over plain HTTP learns it made a mistake.
 */
export function createPlainHttpHandler(options: PlainHttpOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    guardResponseHeaders(res);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    res.setHeader("Cache-Control", "no-store");
    const url = req.url ?? "/";
    const pathname = url.split("?")[0] ?? "/";

    if (pathname.startsWith("/.well-known/acme-challenge/")) {
      const token = pathname.slice("/.well-known/acme-challenge/".length);
      const answer = /^[A-Za-z0-9_-]{1,256}$/.test(token) ? options.acmeChallenges().get(token) : undefined;
      if (answer === undefined) return sendError(res, new VeilError("not_found"));
      res.statusCode = 200;
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(answer);
      return;
    }
    if (pathname === "/api" || pathname.startsWith("/api/") || pathname.startsWith("/socket.io")) {
      req.resume();
      return sendError(res, new VeilError("https_required"));
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      req.resume();
      return sendError(res, new VeilError("https_required"));
    }
    let target: string;
    if (options.publicOrigin) target = options.publicOrigin;
    else {
      const host = req.headers.host ?? "";
      if (!HOST_RE.test(host)) return sendError(res, new VeilError("bad_request"));
      const hostname = host.replace(/:\d+$/, "");
      const port = options.httpsPort();
      target = `https://${hostname}${port === 443 ? "" : `:${port}`}`;
    }
    res.statusCode = 308;
    res.setHeader("Location", target + (url.startsWith("/") ? url : "/"));
    res.end();
  };
}

/** WebSocket upgrades over plain HTTP are refused outright. */
export function refusePlainUpgrade(_req: IncomingMessage, socket: Duplex): void {
  const body = JSON.stringify(new VeilError("https_required").toBody());
  socket.end(
    `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
