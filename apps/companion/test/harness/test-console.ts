import { createServer, type Server as HttpsServer } from "node:https";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { readFileSync } from "node:fs";
import { Server, type Socket } from "socket.io";
import { authKey as brandAuthKey, fromBase64Url, toBase64Url, utf8, verifyAuthKey } from "../../src/crypto";
import {
  COMPANION_API_PREFIX,
  COMPANION_NAMESPACE,
  MAX_SOCKET_MESSAGE_BYTES,
  ZCompanionSocketAuthSchema,
  ZEnrollRequestSchema,
  ZRelayFrameSchema,
  ZRotateRequestSchema,
  ZSnapshotChunkSchema,
  type TGrantBundle,
  type TRelayFrame,
  type TSocketAck,
} from "../../src/protocol";
import type { TestCert } from "./certs";
import type { ConsoleInstanceRecord } from "./fixtures";

/** One HTTP request the console received (for "nothing was sent" assertions). */
export interface SeenRequest {
  method: string;
  path: string;
  bodyKeys: string[];
}

/** Hooks a malicious-console test sets to rewrite what the console serves or relays. */
export interface Tamper {
  kdf?: (body: { kdf: ConsoleInstanceRecord["kdf"] }) => unknown;
  enroll?: (body: Record<string, unknown>, instanceId: string) => unknown;
  /** Browser → companion; return null to drop, an array to inject several. */
  toCompanion?: (frame: TRelayFrame) => TRelayFrame | TRelayFrame[] | null;
  /** Companion → browser; return null to drop (or hold back), an array to deliver several (a held frame after this one, a replay). */
  toBrowser?: (frame: TRelayFrame) => TRelayFrame | TRelayFrame[] | null;
  /** The grant list a companion asks for before sealing a snapshot. */
  grants?: (grants: TGrantBundle[]) => TGrantBundle[];
}

/** A sealed snapshot a companion uploaded (reassembled from its chunks). */
export interface UploadedSnapshot {
  instanceId: string;
  sequence: number;
  sealed: Uint8Array;
}

/**
 * A stand-in console: a real HTTPS + socket.io server on 127.0.0.1 with a self-signed
 * certificate, storing only what a console stores (KDF params, auth-key hash, wrapped keys,
 * certificate), authenticating companions by auth-key hash and relaying opaque frames. The
 * browser side talks to it in-process (`sendToCompanion` / `onBrowserFrame`).
 */
export class TestConsole {
  readonly instances = new Map<string, ConsoleInstanceRecord>();
  readonly requests: SeenRequest[] = [];
  readonly relayed: TRelayFrame[] = [];
  /** Frames real browser channels sent to the browser endpoint (`browserOrigin`), as received. */
  readonly fromBrowsers: TRelayFrame[] = [];
  readonly files = new Map<string, string | Buffer>();
  /** Grant bundles served on `snapshot:grants` (what the console stored for the instance). */
  snapshotGrants: TGrantBundle[] = [];
  readonly snapshots: UploadedSnapshot[] = [];
  tamper: Tamper = {};
  connections = 0;
  /**
   * TCP connections accepted, and application bytes received over completed TLS sessions (before
   * any HTTP parsing). A client that sends nothing after its handshake may never complete one here.
   */
  tcpConnections = 0;
  tlsBytesIn = 0;
  #server: HttpsServer | undefined;
  #io: Server | undefined;
  #sockets = new Map<string, Socket>();
  #browserListeners = new Set<(frame: TRelayFrame) => void>();
  /** Called when the console dies: the browsers' sockets to it are gone. */
  #browserDisconnects = new Set<() => void>();
  /** Sessions a browser opened through this console, per instance (closed when the companion goes). */
  #sessionsOf = new Map<string, Set<string>>();
  /** The plain-HTTP socket.io endpoint real browser channels connect to (see `browserOrigin`). */
  #browserServer: HttpServer | undefined;
  #browserIo: Server | undefined;
  browserPort = 0;
  port = 0;

  constructor(readonly cert: TestCert) {}

  /** https://127.0.0.1:port */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Starts listening (on `port`, or a random one the first time). */
  async start(port = this.port): Promise<this> {
    const server = createServer(
      { key: this.cert.key, cert: this.cert.cert, minVersion: "TLSv1.2" },
      (req, res) => void this.#http(req, res),
    );
    server.on("connection", () => (this.tcpConnections += 1));
    server.on("secureConnection", (tls: TLSSocket) => {
      tls.on("data", (chunk: Buffer) => (this.tlsBytesIn += chunk.length));
    });
    const io = new Server(server, {
      serveClient: false,
      maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
      transports: ["websocket"],
    });
    io.of(COMPANION_NAMESPACE).use((socket, next) => {
      const auth = ZCompanionSocketAuthSchema.safeParse(socket.handshake.auth);
      if (!auth.success) return next(new Error("bad_request"));
      const record = this.instances.get(auth.data.instanceId);
      if (record === undefined || !verifyAuthKey(brandAuthKey(fromBase64Url(auth.data.authKey)), record.authKeyHash))
        return next(new Error("unauthenticated"));
      if (record.revoked) return next(new Error("instance_revoked"));
      (socket.data as { instanceId?: string }).instanceId = record.instanceId;
      next();
    });
    io.of(COMPANION_NAMESPACE).on("connection", (socket) => {
      const instanceId = (socket.data as { instanceId: string }).instanceId;
      this.connections += 1;
      this.#sockets.set(instanceId, socket);
      socket.on("disconnect", () => {
        if (this.#sockets.get(instanceId) !== socket) return;
        this.#sockets.delete(instanceId);
        // As the real console does (apps/console companion-hub.ts, companionGone): the browsers of
        // the instance's sessions are told "unavailable" when its companion goes.
        this.#closeInstanceSessions(instanceId, "unavailable");
      });
      const relay = (raw: unknown): unknown => {
        const parsed = ZRelayFrameSchema.safeParse(raw);
        if (!parsed.success || parsed.data.instanceId !== instanceId)
          return { ok: false, error: { code: "validation_failed", message: "bad frame", retryable: false } };
        this.relayed.push(parsed.data);
        if (parsed.data.kind === "close") this.#sessionsOf.get(instanceId)?.delete(parsed.data.sessionId);
        const out = this.tamper.toBrowser === undefined ? parsed.data : this.tamper.toBrowser(parsed.data);
        if (out !== null) for (const f of Array.isArray(out) ? out : [out]) this.#toBrowsers(f);
        return { ok: true };
      };
      socket.on("e2e:frame", (raw: unknown, ack: unknown) => {
        const result = relay(raw);
        if (typeof ack === "function") (ack as (r: unknown) => void)(result);
      });
      socket.on("e2e:frames", (raw: unknown, ack: unknown) => {
        const results = Array.isArray(raw) ? raw.map(relay) : relay(raw);
        if (typeof ack === "function") (ack as (r: unknown) => void)(results);
      });
      const parts: Buffer[] = [];
      socket.on("snapshot:grants", (_body: unknown, ack: unknown) => {
        if (typeof ack !== "function") return;
        const grants = this.tamper.grants?.(this.snapshotGrants) ?? this.snapshotGrants;
        (ack as (r: unknown) => void)({ ok: true, grants });
      });
      socket.on("snapshot:chunk", (raw: unknown, ack: unknown) => {
        const reply = typeof ack === "function" ? (ack as (r: unknown) => void) : () => {};
        const chunk = ZSnapshotChunkSchema.safeParse(raw);
        if (!chunk.success || chunk.data.part !== parts.length) {
          parts.length = 0;
          return reply({ ok: false, error: { code: "validation_failed", message: "bad chunk", retryable: false } });
        }
        parts.push(Buffer.from(chunk.data.data, "base64url"));
        if (parts.length === chunk.data.parts) {
          const sealed = new Uint8Array(Buffer.concat(parts.splice(0)));
          this.snapshots.push({ instanceId, sequence: chunk.data.sequence, sealed });
        }
        reply({ ok: true });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.#io = io;
    // A console that had a browser endpoint comes back with it, on the same port.
    if (this.browserPort !== 0) await this.#startBrowserEndpoint(this.browserPort);
    return this;
  }

  /**
   * Opens (once) the endpoint real browser code connects to: socket.io on plain HTTP at
   * 127.0.0.1 (the browser's own TLS is not what these tests are about), speaking what the
   * console's browser relay speaks: `e2e:frames` batches in, each frame acknowledged, and the
   * companion's frames out as `e2e:frame`. Returns its origin (for `window.location.origin`).
   */
  async browserOrigin(): Promise<string> {
    if (this.#browserServer === undefined) await this.#startBrowserEndpoint(this.browserPort);
    return `http://127.0.0.1:${this.browserPort}`;
  }

  async #startBrowserEndpoint(port: number): Promise<void> {
    const server = createHttpServer();
    const io = new Server(server, {
      serveClient: false,
      maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
      transports: ["websocket"],
    });
    io.on("connection", (socket) => {
      /** This socket's sessions: the companion is told to close them when the socket goes (as companion-hub.ts #browserGone). */
      const mine = new Map<string, string>();
      socket.on("disconnect", () => {
        for (const [sessionId, instanceId] of mine)
          this.sendToCompanion({ instanceId, sessionId, kind: "close", frame: "" });
      });
      const relay = (raw: unknown): TSocketAck => {
        const parsed = ZRelayFrameSchema.safeParse(raw);
        if (!parsed.success)
          return { ok: false, error: { code: "validation_failed", message: "bad frame", retryable: false } };
        if (!this.isOnline(parsed.data.instanceId))
          return { ok: false, error: { code: "unavailable", message: "The companion is offline.", retryable: true } };
        this.fromBrowsers.push(parsed.data);
        if (parsed.data.kind === "handshake") mine.set(parsed.data.sessionId, parsed.data.instanceId);
        else if (parsed.data.kind === "close") mine.delete(parsed.data.sessionId);
        this.sendToCompanion(parsed.data);
        return { ok: true };
      };
      socket.on("e2e:frames", (raw: unknown, ack: unknown) => {
        const results = Array.isArray(raw) ? raw.map(relay) : relay(raw);
        if (typeof ack === "function") (ack as (r: unknown) => void)(results);
      });
      socket.on("e2e:frame", (raw: unknown, ack: unknown) => {
        const result = relay(raw);
        if (typeof ack === "function") (ack as (r: unknown) => void)(result);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.browserPort = (server.address() as AddressInfo).port;
    this.#browserServer = server;
    this.#browserIo = io;
  }

  /** Hands a frame to every browser: the in-process ones and the real ones on `browserOrigin`. */
  #toBrowsers(frame: TRelayFrame): void {
    for (const l of this.#browserListeners) l(frame);
    this.#browserIo?.emit("e2e:frame", frame);
  }

  /** Sends the browsers of every session with `instanceId` a close frame naming `reason`. */
  #closeInstanceSessions(instanceId: string, reason: string): void {
    const sessions = this.#sessionsOf.get(instanceId);
    this.#sessionsOf.delete(instanceId);
    for (const sessionId of sessions ?? [])
      this.#toBrowsers({ instanceId, sessionId, kind: "close", frame: toBase64Url(utf8(reason)) });
  }

  /** Kills the server: every connection dropped at once (as a crash would). */
  async stop(): Promise<void> {
    const io = this.#io;
    const server = this.#server;
    const browserIo = this.#browserIo;
    const browserServer = this.#browserServer;
    this.#io = undefined;
    this.#server = undefined;
    this.#browserIo = undefined;
    this.#browserServer = undefined;
    this.#sockets.clear();
    this.#sessionsOf.clear();
    // The browsers' sockets die with the console: each of them learns it at once.
    for (const d of [...this.#browserDisconnects]) d();
    if (browserIo !== undefined && browserServer !== undefined) {
      browserIo.disconnectSockets(true);
      browserServer.closeAllConnections();
      await browserIo.close();
    }
    if (io !== undefined) {
      for (const s of await io.of(COMPANION_NAMESPACE).fetchSockets()) s.disconnect(true);
      io.disconnectSockets(true);
    }
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Whether the companion of `instanceId` is connected. */
  isOnline(instanceId: string): boolean {
    return this.#sockets.get(instanceId)?.connected === true;
  }

  /** Marks the instance revoked and disconnects its companion (session:ended first). */
  revoke(instanceId: string): void {
    const record = this.instances.get(instanceId);
    if (record !== undefined) record.revoked = true;
    const socket = this.#sockets.get(instanceId);
    socket?.emit("session:ended", { reason: "instance_revoked" });
    socket?.disconnect(true);
  }

  /** Relays a browser frame to the companion (through the tamper hook). */
  sendToCompanion(frame: TRelayFrame): void {
    if (frame.kind === "handshake") {
      const sessions = this.#sessionsOf.get(frame.instanceId) ?? new Set<string>();
      this.#sessionsOf.set(frame.instanceId, sessions.add(frame.sessionId));
    } else if (frame.kind === "close") this.#sessionsOf.get(frame.instanceId)?.delete(frame.sessionId);
    const out = this.tamper.toCompanion === undefined ? frame : this.tamper.toCompanion(frame);
    if (out === null) return;
    // Several frames (a reorder, a replay) go out as one batch, as the console sends them.
    if (Array.isArray(out) && out.length > 1 && out.every((f) => f.instanceId === out[0]?.instanceId))
      this.#sockets.get(out[0]?.instanceId ?? "")?.emit("e2e:frames", out);
    else for (const f of Array.isArray(out) ? out : [out]) this.#sockets.get(f.instanceId)?.emit("e2e:frame", f);
  }

  /**
   * Subscribes an in-process browser to frames the companion sends, and to the console's death
   * (`onDisconnect`: what a browser's socket.io "disconnect" is); returns an unsubscribe function.
   */
  onBrowserFrame(listener: (frame: TRelayFrame) => void, onDisconnect?: () => void): () => void {
    this.#browserListeners.add(listener);
    if (onDisconnect !== undefined) this.#browserDisconnects.add(onDisconnect);
    return () => {
      this.#browserListeners.delete(listener);
      if (onDisconnect !== undefined) this.#browserDisconnects.delete(onDisconnect);
    };
  }

  async #http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const path = req.url ?? "/";
    this.requests.push({
      method: req.method ?? "",
      path,
      bodyKeys: typeof body === "object" && body !== null ? Object.keys(body) : [],
    });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };
    const file = this.files.get(path);
    if (req.method === "GET" && file !== undefined) {
      res
        .writeHead(200, { "content-type": "application/octet-stream" })
        .end(typeof file === "string" ? readFileSync(file) : file);
      return;
    }
    const m = new RegExp(`^${COMPANION_API_PREFIX}/instances/([0-9a-f-]{36})/(kdf|enroll|rotate)$`).exec(path);
    const record = m === null ? undefined : this.instances.get(m[1] ?? "");
    if (m === null || record === undefined)
      return json(404, { error: { code: "not_found", message: "Not found.", retryable: false } });
    const unauth = (): void =>
      json(401, { error: { code: "unauthenticated", message: "Sign in to continue.", retryable: false } });
    if (m[2] === "kdf" && req.method === "GET") {
      const out = { kdf: record.kdf };
      return json(200, this.tamper.kdf === undefined ? out : this.tamper.kdf(out));
    }
    if (m[2] === "enroll" && req.method === "POST") {
      const parsed = ZEnrollRequestSchema.safeParse(body);
      if (!parsed.success || record.revoked || !verifyAuthKey(fromBase64Url(parsed.data.authKey), record.authKeyHash))
        return unauth();
      const out: Record<string, unknown> = {
        wrappedIdentityPrivateKey: record.wrappedIdentityPrivateKey,
        wrappedBoxPrivateKey: record.wrappedBoxPrivateKey,
        certificate: record.certificate,
      };
      return json(200, this.tamper.enroll === undefined ? out : this.tamper.enroll(out, record.instanceId));
    }
    if (m[2] === "rotate" && req.method === "POST") {
      const parsed = ZRotateRequestSchema.safeParse(body);
      if (!parsed.success || record.revoked || !verifyAuthKey(fromBase64Url(parsed.data.authKey), record.authKeyHash))
        return unauth();
      const n = parsed.data.next;
      Object.assign(record, {
        kdf: n.kdf,
        authKeyHash: fromBase64Url(n.authKeyHash),
        wrappedIdentityPrivateKey: n.wrappedIdentityPrivateKey,
        wrappedBoxPrivateKey: n.wrappedBoxPrivateKey,
      });
      return json(200, { ok: true });
    }
    json(405, { error: { code: "method_not_allowed", message: "Method not allowed.", retryable: false } });
  }
}
