import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Server as HttpsServer } from "node:https";
import { Server, type Socket } from "socket.io";
import {
  COMPANION_NAMESPACE,
  MAX_SOCKET_MESSAGE_BYTES,
  VeilError,
  ZBrowserSocketAuthSchema,
  type FrameOutbox,
  type BrowserToConsoleEvents,
  type ConsoleToBrowserEvents,
  type TSessionEnded,
} from "@veil/protocol";
import { eq, inArray } from "drizzle-orm";
import { sessions } from "@veil/db";
import { authenticateToken, idleDeadline } from "../auth/sessions";
import { clientIp } from "../http/client-ip";
import { expectedOrigin, isCrossSite } from "../http/origin";
import { STATIC_SECURITY_HEADERS } from "../http/security-headers";
import type { ConsoleServices } from "../services";
import { companionHub } from "../instances/companion-hub";
import type { CompanionNamespace } from "../instances/relay-sockets";
import { onRelayBatchEvent, onRelayFrameEvent, relayOutbox, type RelayOne } from "../instances/relay-events";
import { attachCompanionRelay } from "./companion-namespace";
import { capWriteBacklog, type WriteBacklog } from "./write-backlog";

interface BrowserSocketData {
  userId: string;
  sessionId: string;
  role: string;
  ip: string;
  /** Relayed frames to this socket (relay-events.ts relayOutbox). */
  outbox: FrameOutbox;
  /** What waits to be written to it (write-backlog.ts); set once it is connected. */
  backlog?: WriteBacklog;
}

type BrowserServer = Server<BrowserToConsoleEvents, ConsoleToBrowserEvents, Record<string, never>, BrowserSocketData>;

/**
 * A connect error: `message` is the stable code (what companions switch on, see
 * COMPANION_CONNECT_ERRORS), `data` the usual error body with the user-safe message.
 */
function socketError(code: VeilError["code"] | "instance_revoked"): Error & { data: unknown } {
  const e = new VeilError(code === "instance_revoked" ? "unauthenticated" : code);
  return Object.assign(new Error(code), { data: e.toBody() });
}

/**
 * The companion namespace (on the main port, and alone on the inform port): authentication,
 * presence and the relay live in ./companion-namespace.ts, ../instances/companion-hub.ts and
 * ../instances/relay-events.ts.
 */
function attachCompanionNamespace(io: Server, services: ConsoleServices, port: "main" | "inform"): void {
  attachCompanionRelay(io.of(COMPANION_NAMESPACE) as CompanionNamespace, services, port);
}

function addSecurityHeaders(headers: OutgoingHttpHeaders): void {
  for (const [k, v] of Object.entries(STATIC_SECURITY_HEADERS)) headers[k] = v;
  headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'";
  headers["Cache-Control"] = "no-store";
}

/**
 * socket.io for browsers on the main HTTPS port. Cross-site socket hijacking is stopped in
 * `allowRequest` (Origin/Sec-Fetch-Site must be ours — CORS alone does not stop WebSocket),
 * the session token comes only from the handshake `auth` (a token in the query string is
 * refused), messages are capped at MAX_SOCKET_MESSAGE_BYTES, and every event is parsed.
 */
export function attachBrowserSockets(server: HttpsServer, services: ConsoleServices): BrowserServer {
  const io: BrowserServer = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
    destroyUpgrade: false,
    allowEIO3: false,
    allowRequest: (req: IncomingMessage, fn) => {
      fn(null, !isCrossSite(req, expectedOrigin(req, services.config)));
    },
  });
  io.engine.on("initial_headers", addSecurityHeaders);
  io.engine.on("headers", addSecurityHeaders);

  io.use((socket, next) => {
    void (async () => {
      if (socket.handshake.query.token !== undefined || socket.handshake.query.authToken !== undefined)
        return next(socketError("bad_request"));
      const parsed = ZBrowserSocketAuthSchema.safeParse(socket.handshake.auth);
      if (!parsed.success) {
        const tokenBad = parsed.error.issues.some((i) => i.path[0] !== "protocolVersion");
        return next(socketError(tokenBad ? "unauthenticated" : "protocol_version_unsupported"));
      }
      const result = await authenticateToken(services.db, parsed.data.token);
      if (!result.ok) return next(socketError(result.reason === "expired" ? "session_expired" : "unauthenticated"));
      socket.data = {
        userId: result.user.id,
        sessionId: result.session.id,
        role: result.user.role,
        ip: clientIp(socket.request, services.trustedProxies),
        outbox: relayOutbox(socket, parsed.data.protocolVersion),
      };
      await socket.join([`session:${result.session.id}`, `user:${result.user.id}`]);
      next();
    })().catch((error: unknown) => {
      services.log(`socket auth error: ${error instanceof Error ? error.message : String(error)}`);
      next(socketError("internal"));
    });
  });

  attachCompanionNamespace(io, services, "main");

  io.on(
    "connection",
    (socket: Socket<BrowserToConsoleEvents, ConsoleToBrowserEvents, Record<string, never>, BrowserSocketData>) => {
      socket.data.backlog = capWriteBacklog(socket, ({ packets, bytes }) =>
        services.log(`browser socket cut: ${packets} packets (${bytes} bytes) waiting to be written`),
      );
      void endIfRevoked(socket, services);
      const hub = companionHub(services);
      const relayOne: RelayOne = (frame, reply, hold) => hub.fromBrowser(socket, frame, reply, hold);
      socket.on("e2e:frame", (frame: unknown, ack: unknown) => onRelayFrameEvent(frame, ack, relayOne));
      socket.on("e2e:frames", (frames: unknown, ack: unknown) => onRelayBatchEvent(frames, ack, relayOne));
    },
  );

  return io;
}

/**
 * A logout or revocation that ran while this socket was being let in told a room it could not
 * yet reach (socket.io delivers to a room's sockets once they are connected), so the session is
 * read again now that the socket is connected: any revocation after this read reaches it.
 */
async function endIfRevoked(
  socket: Socket<BrowserToConsoleEvents, ConsoleToBrowserEvents, Record<string, never>, BrowserSocketData>,
  services: ConsoleServices,
): Promise<void> {
  try {
    const [row] = await services.db
      .select({ revokedAt: sessions.revokedAt })
      .from(sessions)
      .where(eq(sessions.id, socket.data.sessionId));
    if (row && !row.revokedAt) return;
    socket.emit("session:ended", { reason: "revoked" });
  } catch (error) {
    // Not known to be live: not kept (the browser connects again).
    services.log(`socket session check: ${error instanceof Error ? error.message : String(error)}`);
  }
  socket.disconnect(true);
}

/** Tells and then disconnects every socket of these sessions, on every node (via the adapter). */
export function endSessionSockets(
  io: BrowserServer,
  sessionIds: readonly string[],
  reason: TSessionEnded["reason"],
): void {
  for (const id of sessionIds) {
    io.to(`session:${id}`).emit("session:ended", { reason });
    io.in(`session:${id}`).disconnectSockets(true);
  }
}

/**
 * socket.io on the optional inform port: only the /companion namespace, no UI, no browsers
 * (any request carrying an Origin header is refused).
 */
export function attachCompanionSockets(server: HttpsServer, services: ConsoleServices): Server {
  const io = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
    allowEIO3: false,
    allowRequest: (req, fn) => fn(null, req.headers.origin === undefined),
  });
  io.engine.on("initial_headers", addSecurityHeaders);
  io.engine.on("headers", addSecurityHeaders);
  io.use((_socket, next) => next(socketError("not_found")));
  attachCompanionNamespace(io, services, "inform");
  return io;
}

/**
 * Sockets outlive requests, so once a minute the sessions behind this node's sockets are
 * re-checked: revoked, idle-expired or absolutely-expired sessions lose their sockets.
 */
export function startSocketSessionSweep(
  io: BrowserServer,
  services: ConsoleServices,
  everyMs = 60_000,
): NodeJS.Timeout {
  const sweep = async () => {
    const ids = [...new Set([...io.of("/").sockets.values()].map((s) => s.data.sessionId).filter(Boolean))];
    if (ids.length === 0) return;
    const rows = await services.db.select().from(sessions).where(inArray(sessions.id, ids));
    const now = new Date();
    const live = new Set(rows.filter((s) => !s.revokedAt && idleDeadline(s) > now).map((s) => s.id));
    const dead = ids.filter((id) => !live.has(id));
    if (dead.length) endSessionSockets(io, dead, "expired");
  };
  const timer = setInterval(
    () =>
      void sweep().catch((e: unknown) => services.log(`socket sweep: ${e instanceof Error ? e.message : String(e)}`)),
    everyMs,
  );
  timer.unref();
  return timer;
}
