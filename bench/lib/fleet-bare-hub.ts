// Child process of bench/companions.ts, the baseline: a bare socket.io hub on the console's
// certificate. Peers connect to /peer with auth {id}; a frame from a browser socket goes to the
// peer named by its instanceId, the peer's answer back to the browser socket that sent the last
// frame of that session. No authentication, no checks, no budgets, no database. Answers
// {kind:"stats"} over IPC like fleet-console.ts.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import path from "node:path";
import type { Socket as ServerSocket } from "socket.io";
import type { TRelayFrame, TSocketAck } from "../../packages/protocol/src/index";
import { Server } from "./relay-common";

const [tlsDir = ""] = process.argv.slice(2);
const server = createServer({
  cert: readFileSync(path.join(tlsDir, "self-signed.crt")),
  key: readFileSync(path.join(tlsDir, "self-signed.key")),
});
const io = new Server(server, { serveClient: false, allowEIO3: false });
const peers = new Map<string, ServerSocket>();
const browsers = new Map<string, ServerSocket>();
io.of("/peer").on("connection", (s) => {
  const id = String((s.handshake.auth as { id?: unknown }).id);
  peers.set(id, s);
  s.on("disconnect", () => peers.delete(id));
  s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
    browsers.get(f.sessionId)?.emit("e2e:frame", f);
    ack({ ok: true });
  });
});
io.on("connection", (s) => {
  s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
    browsers.set(f.sessionId, s);
    peers.get(f.instanceId)?.emit("e2e:frame", f);
    ack({ ok: true });
  });
});
const send = (m: unknown): void => void process.send?.(m);
process.on("message", (m: { kind?: string }) => {
  if (m.kind === "stats") {
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    send({ kind: "stats", rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, connected: peers.size });
  } else if (m.kind === "stop") {
    void io.close();
    server.close(() => process.exit(0));
  }
});
server.listen(0, "127.0.0.1", () => send({ kind: "ready", port: (server.address() as { port: number }).port }));
