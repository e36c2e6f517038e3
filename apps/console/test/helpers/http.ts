import { request as httpsRequest } from "node:https";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly rawBody?: string | Buffer;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** Plain HTTP instead of HTTPS. */
  readonly plain?: boolean;
  readonly ca?: string;
}

/** One request to a local console; trusts its (self-signed) certificate via `ca`. */
export function call(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Buffer | undefined = options.rawBody;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
  if (options.token) headers["x-auth-token"] = options.token;
  const req = (options.plain ? httpRequest : httpsRequest)({
    host: "127.0.0.1",
    port,
    path,
    method: options.method ?? (payload === undefined ? "GET" : "POST"),
    headers: { host: `localhost:${port}`, ...headers },
    ...(options.plain ? {} : { ca: options.ca, servername: "localhost", rejectUnauthorized: Boolean(options.ca) }),
  });
  return new Promise((resolve, reject) => {
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON (pages, redirects)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.end(payload);
  });
}

/** A bound caller for one running console. */
export function client(port: number, ca: string) {
  return (path: string, options: RequestOptions = {}) => call(port, path, { ca, ...options });
}

export type Client = ReturnType<typeof client>;
