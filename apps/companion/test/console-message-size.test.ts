import { createServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../src/clock";
import {
  COMPANION_NAMESPACE,
  MAX_BATCH_FRAME_CHARS,
  MAX_FRAMES_PER_BATCH,
  MAX_GRANT_BUNDLE_BYTES,
  MAX_SNAPSHOT_GRANTS,
  MAX_SOCKET_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  type TRelayFrame,
} from "../src/protocol";
import { Supervisor, type ConnectionState } from "../src/supervisor/supervisor";
import { createPinnedTransport, MAX_CONSOLE_MESSAGE_BYTES } from "../src/transport/console-transport";
import { waitUntil } from "./harness/browser";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger } from "./harness/companion";

const INSTANCE_ID = "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e";

/** What the test console does with each companion connection. */
type Script = (socket: Socket) => void;

/**
 * A console that compresses everything it can (permessage-deflate, threshold 0) and sends the
 * companion what the test scripts: the companion must read the largest messages the protocol
 * allows, and refuse a bigger one before parsing it, however small it is on the wire.
 */
describe("console messages: the companion reads what the protocol allows and no more", () => {
  const cert = makeSelfSignedCert();
  let https: HttpsServer;
  let io: Server;
  let script: Script = () => undefined;
  /** The Sec-WebSocket-Extensions the companion offered on each connection (undefined: none). */
  const offered: (string | undefined)[] = [];
  let url = "";

  beforeAll(async () => {
    https = createServer({ key: cert.key, cert: cert.cert });
    io = new Server(https, {
      transports: ["websocket"],
      perMessageDeflate: { threshold: 0 },
      maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
    });
    io.engine.on("connection", (conn: { request: { headers: Record<string, string | undefined> } }) =>
      offered.push(conn.request.headers["sec-websocket-extensions"]),
    );
    io.of(COMPANION_NAMESPACE).on("connection", (socket) => script(socket));
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await io.close();
  });

  /** A batch as big as the console's relay outbox makes one: 64 frames, MAX_BATCH_FRAME_CHARS of frame text. */
  const largestBatch = (): TRelayFrame[] =>
    Array.from({ length: MAX_FRAMES_PER_BATCH }, (_, i) => ({
      instanceId: INSTANCE_ID,
      sessionId: String(i).padStart(22, "A"),
      kind: "transport",
      frame: "A".repeat(MAX_BATCH_FRAME_CHARS / MAX_FRAMES_PER_BATCH),
    }));

  it("an e2e:frames message over the cap (8 KB deflated) closes the connection before it is parsed: no frame, a reconnect pending, the process alive", async () => {
    const { logger, lines } = captureLogger();
    const states: ConnectionState[] = [];
    const reconnects: number[] = [];
    // The real clock, except that a reconnect is only recorded (the test ends before it would run).
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (_fn, ms) => (reconnects.push(ms), reconnects.length),
      clearTimeout: () => undefined,
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
    };
    const frames: TRelayFrame[] = [];
    const legit = largestBatch();
    // An array of zeros (cheap to build and to parse, in case it is parsed) just over the cap.
    const oversized = new Array<number>(Math.ceil(MAX_CONSOLE_MESSAGE_BYTES / 2) + 1024).fill(0);
    script = (socket) => {
      socket.emit("e2e:frames", legit);
      socket.emit("e2e:frames", oversized);
    };
    const sup = new Supervisor({
      instanceId: INSTANCE_ID,
      transport: createPinnedTransport(url, cert.pin, { timeoutMs: 5000 }),
      auth: { current: () => "A".repeat(43), onRejected: () => false },
      clock,
      random: () => 0,
      logger,
      onFrame: (frame) => frames.push(frame),
      onDisconnected: () => undefined,
      onState: (state) => states.push(state),
    });
    sup.start();
    await waitUntil(() => states.includes("disconnected"), 20_000, "the companion to drop the connection");
    expect(states).toEqual(["connecting", "connected", "disconnected"]);
    // The largest legitimate batch arrived whole; nothing of the oversized message did.
    expect(frames).toEqual(legit);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.find((l) => l.msg === "disconnected from the console")).toMatchObject({ reason: "transport error" });
    expect(reconnects).toEqual([500]);
    // The companion never offers compression, so nothing it reads was inflated.
    expect(offered.at(-1)).toBeUndefined();
    sup.stop();
    expect(sup.state).toBe("stopped");
  });

  it("the largest acknowledgement the protocol allows still arrives: a snapshot:grants list of 1,024 bundles of 8 KiB", async () => {
    const bundle = { pad: "" };
    bundle.pad = "x".repeat(MAX_GRANT_BUNDLE_BYTES - JSON.stringify(bundle).length);
    expect(Buffer.byteLength(JSON.stringify(bundle))).toBe(MAX_GRANT_BUNDLE_BYTES);
    const grants = new Array<typeof bundle>(MAX_SNAPSHOT_GRANTS).fill(bundle);
    script = (socket) =>
      socket.on("snapshot:grants", (_body: unknown, ack: (r: unknown) => void) => ack({ ok: true, grants }));
    const socket = createPinnedTransport(url, cert.pin, { timeoutMs: 5000 }).openSocket({
      instanceId: INSTANCE_ID,
      authKey: "A".repeat(43),
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: "t",
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
        socket.connect();
      });
      const ack = (await socket.timeout(10_000).emitWithAck("snapshot:grants", {})) as { grants: unknown[] };
      expect(ack.grants).toHaveLength(MAX_SNAPSHOT_GRANTS);
      expect(socket.connected).toBe(true);
    } finally {
      socket.disconnect();
    }
  });
});
