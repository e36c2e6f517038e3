import { randomBytes } from "node:crypto";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";

/** A fresh 128-bit CSP nonce per request. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

/**
 * The Content-Security-Policy. Scripts run only with this request's nonce ('strict-dynamic'
 * lets Next's nonce'd loader add its chunks); 'wasm-unsafe-eval' allows compiling the Argon2
 * WebAssembly, and 'unsafe-eval' is never allowed. Inline style attributes are allowed
 * (style-src-attr) because they cannot run code; style elements need the nonce.
 */
export function buildCsp(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'nonce-${nonce}' 'strict-dynamic' 'wasm-unsafe-eval'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "upgrade-insecure-requests",
  ].join("; ");
}

export const PERMISSIONS_POLICY = [
  "accelerometer=()",
  "camera=()",
  "geolocation=()",
  "gyroscope=()",
  "magnetometer=()",
  "microphone=()",
  "payment=()",
  "usb=()",
  "interest-cohort=()",
  "browsing-topics=()",
].join(", ");

/** Headers sent on every HTTPS response (the CSP is added separately with its nonce). */
export const STATIC_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Permissions-Policy": PERMISSIONS_POLICY,
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};

const FORBIDDEN = (name: string) => {
  const n = name.toLowerCase();
  return n === "x-powered-by" || n.startsWith("x-nextjs") || n.startsWith("x-middleware-");
};

function filterHeaders(
  headers: OutgoingHttpHeaders | readonly unknown[] | undefined,
): OutgoingHttpHeaders | readonly unknown[] | undefined {
  if (!headers) return headers;
  if (Array.isArray(headers)) {
    // Flat [name, value, name, value, …] form.
    const out: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!FORBIDDEN(String(headers[i]))) out.push(headers[i], headers[i + 1]);
    }
    return out;
  }
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (!FORBIDDEN(k)) out[k] = v;
  return out;
}

/**
 * Makes `res` drop X-Powered-By, every X-Nextjs-* and X-Middleware-* header whoever sets them (Next.js sets
 * some internally, e.g. x-nextjs-cache, x-nextjs-prerender), via setHeader, appendHeader or
 * writeHead.
 */
export function guardResponseHeaders(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) =>
    FORBIDDEN(name) ? res : setHeader(name, value);
  const appendHeader = res.appendHeader.bind(res);
  res.appendHeader = (name: string, value: string | readonly string[]) =>
    FORBIDDEN(name) ? res : appendHeader(name, value);
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = (statusCode: number, ...rest: unknown[]) => {
    const args = rest.map((a) => (typeof a === "object" && a !== null ? filterHeaders(a as OutgoingHttpHeaders) : a));
    for (const name of res.getHeaderNames()) if (FORBIDDEN(name)) res.removeHeader(name);
    return writeHead(statusCode, ...args);
  };
}

export interface SecurityHeaderOptions {
  readonly nonce: string;
  /** Cache-Control: no-store (API, HTML pages); false leaves caching to the handler (static assets). */
  readonly noStore: boolean;
}

/** Sets every security header on an HTTPS response. */
export function applySecurityHeaders(res: ServerResponse, options: SecurityHeaderOptions): void {
  for (const [k, v] of Object.entries(STATIC_SECURITY_HEADERS)) res.setHeader(k, v);
  res.setHeader("Content-Security-Policy", buildCsp(options.nonce));
  if (options.noStore) res.setHeader("Cache-Control", "no-store");
}
