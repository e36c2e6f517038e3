/**
 * Routes of the management API: login (username/password, lockout after 5 failures), adopt
 * (inform URL and authkey, or a Veil site key), credentials (new login), shell (one command)
 * and info. JSON bodies capped at 16 KiB and parsed with the @veil/protocol device schemas.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { decodeSiteKey, type SiteKey } from "@veil/devices";
import type { z } from "zod";
import type { SimContext } from "./context";
import type { SimDevice } from "./device";
import {
  ZDeviceAdoptRequestSchema,
  ZDeviceCredentialRequestSchema,
  ZDeviceLoginRequestSchema,
  ZDeviceShellRequestSchema,
} from "@veil/protocol";
import { runShell } from "./shell";

/** Called when a device is told where to report: starts its inform loop or channel. */
export type AdoptHandler = (device: SimDevice, target: { kind: "unifi" } | { kind: "veil"; siteKey: SiteKey }) => void;

const TOKEN_TTL_MS = 5 * 60_000;
const MAX_BODY = 16 * 1024;
const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** Request handling shared by every device. */
export class AdminRoutes {
  private readonly tokens = new Map<string, { mac: string; expires: number }>();
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly ctx: SimContext,
    private readonly onAdopt: AdoptHandler,
  ) {}

  /** Handles one request for `device`. */
  handle(device: SimDevice, req: http.IncomingMessage, res: http.ServerResponse): void {
    this.ctx.stats.adminRequests++;
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/api/v1/info") {
      return send(200, {
        mac: device.mac,
        model: device.spec.model,
        modelDisplay: device.spec.display,
        firmware: device.firmware,
        hostname: device.hostname,
        adopted: device.unifi.authkey !== undefined || device.veil.deviceKey !== undefined,
      });
    }
    if (req.method !== "POST") return send(405, { error: "method_not_allowed" });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        send(413, { error: "payload_too_large" });
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return;
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(400, { error: "bad_request" });
      }
      this.route(device, path ?? "", req.headers.authorization, json, send);
    });
  }

  private route(
    device: SimDevice,
    path: string,
    auth: string | undefined,
    json: unknown,
    send: (s: number, b: unknown) => void,
  ): void {
    const parse = <S extends z.ZodType>(schema: S): z.output<S> | undefined => {
      const r = schema.safeParse(json);
      if (!r.success) send(400, { error: "validation_failed" });
      return r.success ? r.data : undefined;
    };
    if (path === "/api/v1/login") {
      const body = parse(ZDeviceLoginRequestSchema);
      if (body) this.login(device, body, send);
      return;
    }
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : "";
    const session = this.tokens.get(token);
    if (!session || session.mac !== device.mac || session.expires < Date.now())
      return send(401, { error: "unauthenticated" });
    if (path === "/api/v1/adopt") {
      const body = parse(ZDeviceAdoptRequestSchema);
      if (!body) return;
      if ("siteKey" in body) {
        let siteKey: SiteKey;
        try {
          siteKey = decodeSiteKey(body.siteKey);
        } catch {
          return send(400, { error: "validation_failed" });
        }
        this.onAdopt(device, { kind: "veil", siteKey });
      } else {
        device.unifi.informUrl = body.informUrl;
        if (body.authkey !== undefined) device.unifi.authkey = body.authkey;
        this.onAdopt(device, { kind: "unifi" });
      }
      return send(200, { ok: true });
    }
    if (path === "/api/v1/credentials") {
      const body = parse(ZDeviceCredentialRequestSchema);
      if (!body) return;
      device.credentials = { username: body.username, password: body.password };
      for (const [t, s] of this.tokens) if (s.mac === device.mac) this.tokens.delete(t);
      return send(200, { ok: true });
    }
    if (path === "/api/v1/shell") {
      const body = parse(ZDeviceShellRequestSchema);
      if (!body) return;
      const r = runShell(device, body.command, this.ctx.now());
      send(200, { ok: r.ok, output: r.output });
      if (r.reboot) device.reboot(this.ctx.now(), this.ctx.rebootMs * this.ctx.scale);
      return;
    }
    send(404, { error: "not_found" });
  }

  private login(
    device: SimDevice,
    body: { username: string; password: string },
    send: (s: number, b: unknown) => void,
  ): void {
    const now = Date.now();
    const f = this.failures.get(device.mac);
    if (f && f.until > now) return send(429, { error: "account_locked" });
    const userOk = timingSafeEqual(digest(body.username), digest(device.credentials.username));
    const passOk = timingSafeEqual(digest(body.password), digest(device.credentials.password));
    if (!(userOk && passOk)) {
      this.ctx.stats.adminLoginFailures++;
      const count = (f?.count ?? 0) + 1;
      this.failures.set(device.mac, { count: count >= 5 ? 0 : count, until: count >= 5 ? now + 60_000 : 0 });
      return send(401, { error: "invalid_credentials" });
    }
    this.failures.delete(device.mac);
    if (this.tokens.size >= 10_000) for (const [t, s] of this.tokens) if (s.expires < now) this.tokens.delete(t);
    if (this.tokens.size >= 10_000) return send(503, { error: "unavailable" });
    const token = randomBytes(32).toString("base64url");
    this.tokens.set(token, { mac: device.mac, expires: now + TOKEN_TTL_MS });
    send(200, { token, expiresInSec: TOKEN_TTL_MS / 1000 });
  }
}
