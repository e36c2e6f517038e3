import { type COMPANION_CONNECT_ERRORS, VeilError, ZCompanionSocketAuthSchema, type ErrorCode } from "@veil/protocol";
import { clientIp } from "../http/client-ip";
import { companionHub } from "../instances/companion-hub";
import type { CompanionNamespace, CompanionSocket } from "../instances/relay-sockets";
import { onRelayBatchEvent, onRelayFrameEvent, relayOutbox, type RelayOne } from "../instances/relay-events";
import { COMPANION_SOCKET_LIMIT, FrameBudget } from "../instances/frame-budget";
import { authenticatedInstance, countFailedInstanceAuth } from "../instances/instance-auth";
import { findInstance } from "../instances/instance-store";
import type { ConsoleServices } from "../services";
import { attachSnapshotEvents } from "../snapshots/snapshot-uploads";
import { capWriteBacklog } from "./write-backlog";

type ConnectCode = (typeof COMPANION_CONNECT_ERRORS)[keyof typeof COMPANION_CONNECT_ERRORS] | "internal";

/** A connect error whose message is the stable code companions switch on; `data` is the usual error body. */
function connectError(code: ConnectCode): Error & { data: unknown } {
  return Object.assign(new Error(code), { data: new VeilError(code as ErrorCode).toBody() });
}

/**
 * The /companion namespace (docs/PROTOCOL-COMPANION.md §3): WebSocket only; `auth` parsed with
 * ZCompanionSocketAuthSchema; failed attempts rate-limited per IP like log-in and per instance
 * (a right key is never refused for others' failures); the token's auth key checked against
 * its stored hash in constant time (unknown instances against a dummy); revoked instances
 * refused with `instance_revoked`, which stops a companion for good. No connection-state
 * recovery here: every connection runs these checks.
 */
export function attachCompanionRelay(
  nsp: CompanionNamespace,
  services: ConsoleServices,
  port: "main" | "inform",
): void {
  const hub = companionHub(services);
  hub.register(nsp, port);

  /**
   * Connections that made an attempt here. socket.io takes another CONNECT on a connection after
   * a refusal (or while one is pending), so one TLS connection could otherwise carry any number of
   * attempts, each a database lookup: a connection gets one, and is closed once refused. (Our
   * companion opens a new connection for every attempt.)
   */
  const attempted = new WeakSet<object>();
  nsp.use((socket, next) => {
    const refuse = (code: ConnectCode): void => {
      next(connectError(code));
      // After the refusal went out.
      setImmediate(() => socket.conn.close());
    };
    if (attempted.has(socket.conn)) return refuse("bad_request");
    attempted.add(socket.conn);
    void (async () => {
      if (socket.conn.transport.name !== "websocket") return next(connectError("bad_request"));
      const parsed = ZCompanionSocketAuthSchema.safeParse(socket.handshake.auth);
      if (!parsed.success) {
        const versionOnly = parsed.error.issues.every((i) => i.path[0] === "protocolVersion");
        return next(connectError(versionOnly ? "protocol_version_unsupported" : "bad_request"));
      }
      const { instanceId, authKey, companionVersion, protocolVersion } = parsed.data;
      const ip = clientIp(socket.request, services.trustedProxies);
      const row = authenticatedInstance(await findInstance(services.db, instanceId), authKey);
      if (!row) {
        // Failures only: a right key is never refused for what others at its address (a site's
        // users logging in, a LAN host) or anyone naming its instance spent.
        const byIp = services.limiter.consume("login", ip).allowed;
        const byInstance = countFailedInstanceAuth(services.limiter, instanceId).allowed;
        return refuse(byIp && byInstance ? "unauthenticated" : "rate_limited");
      }
      if (row.revokedAt) return next(connectError("instance_revoked"));
      socket.data = {
        instanceId: row.id,
        ip,
        companionVersion,
        budget: new FrameBudget(COMPANION_SOCKET_LIMIT, services.relayClock),
        outbox: relayOutbox(socket, protocolVersion),
      };
      next();
    })().catch((error: unknown) => {
      services.log(`companion socket auth error: ${error instanceof Error ? error.message : String(error)}`);
      next(connectError("internal"));
    });
  });

  nsp.on("connection", (socket: CompanionSocket) => {
    const log = (what: string) => (error: unknown) =>
      services.log(`companion ${what}: ${error instanceof Error ? error.message : String(error)}`);
    capWriteBacklog(socket, ({ packets, bytes }) =>
      services.log(`companion socket cut: ${packets} packets (${bytes} bytes) waiting to be written`),
    );
    void hub.companionConnected(socket).catch(log("presence"));
    const relayOne: RelayOne = (frame, reply, hold) => hub.fromCompanion(socket, frame, reply, hold);
    socket.on("e2e:frame", (frame: unknown, ack: unknown) => onRelayFrameEvent(frame, ack, relayOne));
    socket.on("e2e:frames", (frames: unknown, ack: unknown) => onRelayBatchEvent(frames, ack, relayOne));
    attachSnapshotEvents(socket, services);
    socket.on("disconnect", () => void hub.companionGone(socket).catch(log("presence")));
  });
}
