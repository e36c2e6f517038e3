// The bare socket.io relay: an HTTPS socket.io server that forwards `e2e:frame` from A (this
// process) to B (a child process, relay-bare-peer.ts) and B's answer back to A. No crypto, no
// checks; frames of the same size as the real encrypted ping and its answer.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server as HttpsServer } from "node:https";
import path from "node:path";
import { toBase64Url } from "@veil/crypto";
import type * as SocketIoServer from "socket.io";
import type { Socket as ServerSocket } from "socket.io";
import { connected, eventually } from "../../apps/console/test/helpers/instances";
import type { TRelayFrame, TSocketAck } from "../../packages/protocol/src/index";
import { connect, emitFrame, Server, Waiters, type Socket } from "./relay-common";

const TSX = path.join(import.meta.dirname, "..", "node_modules", ".bin", "tsx");
const PEER = path.join(import.meta.dirname, "relay-bare-peer.ts");

export interface BareOptions {
  /** The console's certificate: the bare relay serves the same one. */
  readonly ca: string;
  readonly requestBytes: number;
  readonly answerBytes: number;
  /** Ids carried in the frames, as the Veil frames carry them. */
  readonly instanceId: string;
  readonly sessionId: string;
}

export interface BareEnds {
  /** One round trip A → B → A; resolves to its latency in ms. */
  readonly roundTrip: () => Promise<number>;
  readonly peer: ChildProcess;
  readonly client: Socket;
}

export class BareRelay {
  readonly #server: HttpsServer;
  readonly #io: SocketIoServer.Server;
  #peerSocket: ServerSocket | undefined;
  #browserEnd: ServerSocket | undefined;

  /** `tlsDir` holds the console's self-signed.crt and self-signed.key. */
  constructor(tlsDir: string) {
    this.#server = createServer({
      cert: readFileSync(path.join(tlsDir, "self-signed.crt")),
      key: readFileSync(path.join(tlsDir, "self-signed.key")),
    });
    this.#io = new Server(this.#server, { serveClient: false, allowEIO3: false });
    this.#io.of("/peer").on("connection", (s) => {
      this.#peerSocket = s;
      s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
        this.#browserEnd?.emit("e2e:frame", f);
        ack({ ok: true });
      });
    });
    this.#io.on("connection", (s) => {
      this.#browserEnd = s;
      s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
        this.#peerSocket?.emit("e2e:frame", f);
        ack({ ok: true });
      });
    });
  }

  /** Listens, starts B and connects A; the child and the socket go into `children` and `sockets`. */
  async start(o: BareOptions, children: ChildProcess[], sockets: Socket[]): Promise<BareEnds> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    const barePort = (this.#server.address() as { port: number }).port;
    const peer = spawn(TSX, [PEER], {
      env: { ...process.env, BARE_PORT: String(barePort), BARE_CA: o.ca, BARE_ANSWER_BYTES: String(o.answerBytes) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(peer);
    await eventually(() => this.#peerSocket !== undefined, 15_000, "bare peer connected");
    const a = connect(`https://localhost:${barePort}/`, {
      transports: ["websocket"],
      ca: o.ca,
      reconnection: false,
      forceNew: true,
    });
    sockets.push(a);
    await connected(a);
    const answers = new Waiters<void>();
    a.on("e2e:frame", (f: TRelayFrame) => answers.settle(f.frame.slice(0, 22), undefined));
    const pad = "a".repeat(Math.max(0, o.requestBytes - 22));
    const roundTrip = async (): Promise<number> => {
      const t = performance.now();
      const id = toBase64Url(randomBytes(16)); // 22 characters
      const frame: TRelayFrame = {
        instanceId: o.instanceId,
        sessionId: o.sessionId,
        kind: "transport",
        frame: id + pad,
      };
      const answer = answers.wait(id);
      await Promise.all([emitFrame(a, frame), answer]);
      return performance.now() - t;
    };
    return { roundTrip, peer, client: a };
  }

  close(): void {
    this.#io.close();
    this.#server.close();
  }
}
