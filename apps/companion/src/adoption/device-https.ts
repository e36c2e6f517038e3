import { createHash } from "node:crypto";
import http from "node:http";
import tls from "node:tls";

/**
 * HTTPS to a device's management API with certificate pinning by SHA-256 of the leaf DER.
 * Devices carry self-signed certificates, so trust is: pin on first use, then exact match. The
 * pin is compared right after the TLS handshake, before a single request byte is written; on
 * mismatch the socket is destroyed and nothing (no credential) is sent. Only addresses the
 * scope check passed are dialled (the caller passes an IPv4 literal, never a name). There is
 * no plain-HTTP path: `http://` targets are refused by construction.
 */

/** Thrown when the device's certificate is not the expected one. */
export class CertificateChangedError extends Error {
  constructor(readonly actual: string) {
    super("device certificate changed");
    this.name = "CertificateChangedError";
  }
}

/** Thrown when the device cannot be reached or answers nonsense. */
export class DeviceUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceUnreachableError";
  }
}

/** Where to connect. `ip` must already be scope-checked. */
export interface DeviceEndpoint {
  readonly ip: string;
  readonly port: number;
}

const MAX_RESPONSE = 64 * 1024;

/** Refuses anything but an https: URL (used where a URL is configured rather than an address). */
export function assertHttpsUrl(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== "https:") throw new DeviceUnreachableError("only https:// device URLs are allowed");
  return u;
}

/**
 * Opens a TLS connection and returns it with the leaf certificate's SHA-256 (hex). With `pin`,
 * a different certificate throws CertificateChangedError before the socket is handed out.
 */
export function connectPinned(
  ep: DeviceEndpoint,
  pin: string | undefined,
  timeoutMs: number,
): Promise<{ socket: tls.TLSSocket; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: ep.ip, port: ep.port, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
    const timer = setTimeout(() => fail(new DeviceUnreachableError("TLS connect timed out")), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once("error", (e: Error) => fail(new DeviceUnreachableError(e.message)));
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      const cert = socket.getPeerCertificate();
      if (cert.raw === undefined || cert.raw.length === 0) return fail(new DeviceUnreachableError("no certificate"));
      const fingerprint = createHash("sha256").update(cert.raw).digest("hex");
      if (pin !== undefined && fingerprint !== pin) return fail(new CertificateChangedError(fingerprint));
      socket.on("error", () => undefined);
      resolve({ socket, fingerprint });
    });
  });
}

/** One JSON request over an already pinned TLS socket (the socket is used for this request only). */
export function requestJson(
  socket: tls.TLSSocket,
  ep: DeviceEndpoint,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  token: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    const headers: Record<string, string> = {
      host: `${ep.ip}:${ep.port}`,
      accept: "application/json",
      connection: "close",
    };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const req = http.request({ method, path, headers, createConnection: () => socket, timeout: timeoutMs });
    const timer = setTimeout(() => req.destroy(new DeviceUnreachableError("request timed out")), timeoutMs);
    req.once("error", (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e instanceof DeviceUnreachableError ? e : new DeviceUnreachableError(e.message));
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) req.destroy(new DeviceUnreachableError("response too large"));
        else chunks.push(c);
      });
      res.once("end", () => {
        clearTimeout(timer);
        socket.destroy();
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.end(payload);
  });
}

/** Connect (pinned) and make one request: a fresh TLS connection per request, each pin-checked. */
export async function deviceRequest(
  ep: DeviceEndpoint,
  pin: string | undefined,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token?: string,
  timeoutMs = 5000,
): Promise<{ status: number; json: unknown; fingerprint: string }> {
  const { socket, fingerprint } = await connectPinned(ep, pin, timeoutMs);
  const r = await requestJson(socket, ep, method, path, body, token, timeoutMs);
  return { ...r, fingerprint };
}
