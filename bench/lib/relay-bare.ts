// The bare socket.io relay: the browser end A (this process) sends `e2e:frame` through a bare
// socket.io server (relay-bare-server.ts, its own process) to B (relay-bare-peer.ts, another
// process), which answers back the same way. No crypto, no checks; frames of the same size as
// the real encrypted ping and its answer.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { toBase64Url } from "@veil/crypto";
import { connected } from "../../apps/console/test/helpers/instances";
import type { TRelayFrame } from "../../packages/protocol/src/index";
import { bundleScript } from "./companion-bundle";
import { forkLib, nextMessage, stopFork } from "./fleet-fixtures";
import { connect, emitFrame, Waiters, type Socket } from "./relay-common";
import type { Rig, VeilSetUp } from "./relay-veil";

export interface BareOptions {
  /** The console's certificate: the bare relay serves the same one. */
  readonly ca: string;
  readonly requestBytes: number;
  readonly answerBytes: number;
  /** Carried in the frames, as the Veil frames carry it. */
  readonly instanceId: string;
  /** Browser-end sockets, each with its own session id (the Veil side's are given). */
  readonly sessionIds: readonly string[];
}

export interface BareEnds {
  /** One round trip A → B → A through browser socket `lane` mod the socket count; its latency in ms. */
  readonly roundTrip: (lane: number) => Promise<number>;
  readonly relay: ChildProcess;
  readonly peer: ChildProcess;
  readonly clients: readonly Socket[];
}

export class BareRelay {
  #relay: ChildProcess | undefined;

  /** `tlsDir` holds the console's self-signed.crt and self-signed.key. */
  constructor(private readonly tlsDir: string) {}

  /**
   * Starts beside a Veil rig: the console's certificate, frames the size of the Veil side's, and
   * one browser socket per Veil session (in the rig's children and sockets).
   */
  startBeside(rig: Rig, veil: VeilSetUp): Promise<BareEnds> {
    const options: BareOptions = {
      ca: veil.ca,
      requestBytes: veil.requestBytes,
      answerBytes: veil.answerBytes,
      instanceId: veil.instanceId,
      sessionIds: veil.many.map((s) => s.sessionId),
    };
    return this.start(options, rig.children, rig.sockets);
  }

  /** Starts the relay and B, connects A; the children and the socket go into `children` and `sockets`. */
  async start(o: BareOptions, children: ChildProcess[], sockets: Socket[]): Promise<BareEnds> {
    const relay = forkLib("relay-bare-server.ts", [this.tlsDir]);
    this.#relay = relay;
    const { port: barePort } = await nextMessage<{ port: number }>(relay, "ready");
    const peerUp = nextMessage(relay, "peer");
    // Bundled, as the companion it stands in for runs (lib/companion-bundle.ts).
    const peer = spawn(process.execPath, [bundleScript("relay-bare-peer.ts")], {
      env: { ...process.env, BARE_PORT: String(barePort), BARE_CA: o.ca, BARE_ANSWER_BYTES: String(o.answerBytes) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(peer);
    await peerUp;
    const answers = new Waiters<void>();
    const clients: Socket[] = [];
    // The relay learns which socket holds a session from that session's first frame.
    for (let i = 0; i < o.sessionIds.length; i++) {
      const a = connect(`https://localhost:${barePort}/`, {
        transports: ["websocket"],
        ca: o.ca,
        reconnection: false,
        forceNew: true,
      });
      sockets.push(a);
      await connected(a);
      a.on("e2e:frame", (f: TRelayFrame) => answers.settle(f.frame.slice(0, 22), undefined));
      clients.push(a);
    }
    const pad = "a".repeat(Math.max(0, o.requestBytes - 22));
    const roundTrip = async (lane: number): Promise<number> => {
      const t = performance.now();
      const id = toBase64Url(randomBytes(16)); // 22 characters
      const i = lane % clients.length;
      const frame: TRelayFrame = {
        instanceId: o.instanceId,
        sessionId: o.sessionIds[i] ?? "",
        kind: "transport",
        frame: id + pad,
      };
      const answer = answers.wait(id);
      await Promise.all([emitFrame(clients[i] as Socket, frame), answer]);
      return performance.now() - t;
    };
    return { roundTrip, relay, peer, clients };
  }

  async close(): Promise<void> {
    if (this.#relay) await stopFork(this.#relay);
  }
}
