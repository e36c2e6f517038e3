// The bare socket.io relay's server, run as its own process by relay-bare.ts (as the console runs
// in its own process on the Veil side): an HTTPS socket.io server on the console's certificate
// that forwards `e2e:frame` from the browser end (namespace /) to the far end (/peer) and back,
// acknowledging each frame as the console does. No crypto, no checks.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import path from "node:path";
import type { Socket as ServerSocket } from "socket.io";
import type { TRelayFrame, TSocketAck } from "../../packages/protocol/src/index";
import { Server } from "./relay-common";
import { answerProfileRequests } from "./relay-profile";

const [tlsDir = ""] = process.argv.slice(2);
const server = createServer({
  cert: readFileSync(path.join(tlsDir, "self-signed.crt")),
  key: readFileSync(path.join(tlsDir, "self-signed.key")),
});
const io = new Server(server, { serveClient: false, allowEIO3: false });
let peer: ServerSocket | undefined;
/** Browser-end sockets by the session id their frames carry (one Map lookup, as the console has). */
const browserEnds = new Map<string, ServerSocket>();
const send = (m: unknown): void => void process.send?.(m);
io.of("/peer").on("connection", (s) => {
  peer = s;
  s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
    browserEnds.get(f.sessionId)?.emit("e2e:frame", f);
    ack({ ok: true });
  });
  send({ kind: "peer" });
});
io.on("connection", (s) => {
  s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
    browserEnds.set(f.sessionId, s);
    peer?.emit("e2e:frame", f);
    ack({ ok: true });
  });
});
process.on("message", (m: { kind?: string }) => {
  if (m.kind === "stop") {
    void io.close();
    server.close();
    process.exit(0);
  }
});
answerProfileRequests();
server.listen(0, "127.0.0.1", () => send({ kind: "ready", port: (server.address() as { port: number }).port }));
