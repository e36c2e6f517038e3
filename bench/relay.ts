// End-to-end round trips through the console relay against a bare socket.io relay, in one run.
//
// Same topology for both: this process holds the relay server and the browser end (client A);
// a child process holds the far end (client B). Every hop is socket.io over WebSocket over TLS on
// 127.0.0.1, and frames are acknowledged the way the console acknowledges them.
//  - bare: an HTTPS socket.io server forwards `e2e:frame` from A to B and B's answer back to A.
//    No crypto, no checks; frames of the same size as the real encrypted ping and its answer.
//  - Veil: the real console (in-process, rate limits lifted) and a real companion enrolled with
//    the real CLI (child process, as apps/console/test/companion-relay.test.ts runs it); the
//    browser end is a Noise_KK session from @veil/crypto exactly as the browser opens it, and
//    every round trip is a sealed `ping` request answered by the companion.
// Each is measured one request at a time and with IN_FLIGHT requests in flight, for a fixed time.
//
// The console caps relayed frames at 200/s per browser socket and 2,000/s per companion socket
// (apps/console/src/server/instances/frame-budget.ts); a refused frame leaves a gap in the Noise
// nonce sequence and the companion closes the session. So the Veil client paces itself under
// those budgets, and Veil is measured twice: through one browser socket (what a browser tab gets)
// and spread over SOCKETS browser sockets (the relay's own cost with the per-socket cap out of
// the way).
//
// Run: pnpm --filter @veil/bench exec tsx relay.ts   (VEIL_BENCH_RELAY_MS=<ms per figure>)
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server as HttpsServer } from "node:https";
import { Session as Inspector } from "node:inspector/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { initiateSession, fingerprint, fromBase64Url, fromUtf8, toBase64Url, utf8, type Session } from "@veil/crypto";
import { createRequire } from "node:module";
import type * as SocketIoServer from "../apps/console/node_modules/socket.io";
import type { Socket as ServerSocket } from "../apps/console/node_modules/socket.io";
import {
  encodeEnrollment,
  encodeSessionOpen,
  PROTOCOL_VERSION,
  ZE2EResponseSchema,
  type TCompanionInfoResponse,
  type TInstanceResponse,
  type TE2EResponse,
  type TRelayFrame,
  type TSocketAck,
} from "../packages/protocol/src/index";
import { DEFAULT_RATE_LIMITS } from "../apps/console/src/server/config";
import { startConsole } from "../apps/console/src/server/start-console";
import { client } from "../apps/console/test/helpers/http";
import {
  browserSocket,
  companionStateDir,
  connected,
  eventually,
  makeInstance,
  signGrantBundle,
  signUpKeyed,
  spawnCompanion,
  type KeyedAccount,
} from "../apps/console/test/helpers/instances";

const DURATION_MS = Number(process.env.VEIL_BENCH_RELAY_MS ?? 4_000);
const WARMUP_MS = 500;
const IN_FLIGHT = 20;
const SOCKETS = 16;
/** Client-side pacing under the console's budgets of 200 and 2,000 frames/s (rate + burst + 1 ≤ budget). */
const PER_SOCKET_FRAMES = { perSecond: 185, burst: 10 };
const PER_COMPANION_FRAMES = { perSecond: 1_900, burst: 40 };
const TSX = path.join(import.meta.dirname, "node_modules", ".bin", "tsx");
// socket.io and socket.io-client are the console's (bench does not depend on them).
const consoleRequire = createRequire(path.join(import.meta.dirname, "..", "apps", "console", "package.json"));
const { Server } = consoleRequire("socket.io") as typeof SocketIoServer;
/** The client socket type, from the test helpers (which import socket.io-client from the console). */
type Socket = ReturnType<typeof browserSocket>;
const { io: connect } = consoleRequire("socket.io-client") as {
  io: (
    uri: string,
    options: { transports: string[]; ca: string | undefined; reconnection: boolean; forceNew: boolean },
  ) => Socket;
};

// ---------------------------------------------------------------------------------------------
// The bare relay's far end (client B), when this file runs as the child process.

if (process.argv[2] === "--bare-peer") {
  const answerBytes = Number(process.env.BARE_ANSWER_BYTES);
  const peer = connect(`https://localhost:${process.env.BARE_PORT}/peer`, {
    transports: ["websocket"],
    ca: process.env.BARE_CA,
    reconnection: false,
    forceNew: true,
  });
  // Answer = the request's id (its first 22 characters) and padding to the real answer's size.
  peer.on("e2e:frame", (f: TRelayFrame) => {
    const frame = f.frame.slice(0, 22) + "a".repeat(Math.max(0, answerBytes - 22));
    peer.emit("e2e:frame", { ...f, frame }, () => undefined);
  });
  peer.on("disconnect", () => process.exit(0));
  await new Promise<never>(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Measurement.

interface Figure {
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
  /** CPU milliseconds per round trip: this process (relay + browser end), the child (far end). */
  readonly cpuHere: number;
  /** Of which the browser end's sealing and opening (Veil only). */
  readonly browserCrypto: number;
  readonly cpuPeer: number;
}

/**
 * Client-side pacing (GCRA): `perSecond` on average with bursts of up to `burst`, so any one-second
 * window, fixed windows included, holds at most perSecond + burst + 1 frames. Smooth, unlike a
 * plain window that lets a second's worth through at once and then stalls.
 */
class Pacer {
  readonly #interval: number;
  readonly #tau: number;
  #tat = 0;
  /** Takes that had to wait. */
  waits = 0;
  constructor(perSecond: number, burst: number) {
    this.#interval = 1000 / perSecond;
    this.#tau = burst * this.#interval;
  }
  async take(): Promise<void> {
    let waited = false;
    for (;;) {
      const now = performance.now();
      const tat = Math.max(this.#tat, now);
      if (tat - now <= this.#tau) {
        this.#tat = tat + this.#interval;
        if (waited) this.waits++;
        return;
      }
      waited = true;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(tat - this.#tau - now))));
    }
  }
}

/** User + system CPU milliseconds of a process and all its descendants (Linux /proc). */
function treeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ms = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ms += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
    for (const task of readdirSync(`/proc/${pid}/task`))
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean))
        ms += treeCpuMs(Number(child));
  } catch {
    // gone
  }
  return ms;
}

/**
 * `lanes` loops run `op` back to back for DURATION_MS after a warm-up. `op` returns its round
 * trip's latency (from sending to the answer: time spent waiting for a frame budget is not
 * latency, but it does lower the rate).
 */
async function run(op: (lane: number) => Promise<number>, lanes: number, peerPid: number | undefined): Promise<Figure> {
  const loop = async (until: number, lane: number, latencies: number[] | null) => {
    while (performance.now() < until) {
      const ms = await op(lane);
      latencies?.push(ms);
    }
  };
  const warmEnd = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: lanes }, (_, i) => loop(warmEnd, i, null)));
  const latencies: number[] = [];
  const crypto0 = browserCryptoMs;
  const cpu0 = process.cpuUsage();
  const peer0 = treeCpuMs(peerPid);
  const start = performance.now();
  await Promise.all(Array.from({ length: lanes }, (_, i) => loop(start + DURATION_MS, i, latencies)));
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const peer = treeCpuMs(peerPid) - peer0;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  const n = latencies.length;
  return {
    perSec: (n * 1000) / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    count: n,
    cpuHere: (cpu.user + cpu.system) / 1000 / n,
    cpuPeer: peer / n,
    browserCrypto: (browserCryptoMs - crypto0) / n,
  };
}

/** Time the browser end spends sealing requests and opening (and parsing) answers. */
let browserCryptoMs = 0;

/** Waits for a response registered under `id`, failing after 5 s. */
class Waiters<T> {
  readonly #pending = new Map<string, { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  wait(id: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${id} within 5 s`));
      }, 5_000);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }
  settle(id: string, value: T): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(value);
  }
}

function emitFrame(s: Socket, frame: TRelayFrame): Promise<void> {
  return new Promise((resolve, reject) =>
    s.emit("e2e:frame", frame, (ack: TSocketAck) =>
      ack.ok ? resolve() : reject(new Error(`relay refused: ${ack.error.code}`)),
    ),
  );
}

/** The browser end of one E2E session (as the console's browser code does, minus the UI). */
class BrowserSession {
  readonly sessionId = toBase64Url(randomBytes(16));
  readonly pacer = new Pacer(PER_SOCKET_FRAMES.perSecond, PER_SOCKET_FRAMES.burst);
  readonly #answers = new Waiters<TE2EResponse>();
  #session: Session | undefined;
  #handshake: ((f: TRelayFrame) => void) | undefined;

  constructor(
    readonly socket: Socket,
    readonly instanceId: string,
  ) {
    socket.on("e2e:frame", (f: TRelayFrame) => {
      if (f.sessionId !== this.sessionId) return;
      if (f.kind !== "transport" || !this.#session) return this.#handshake?.(f);
      const t = performance.now();
      const msg = ZE2EResponseSchema.parse(JSON.parse(fromUtf8(this.#session.open(fromBase64Url(f.frame)))));
      browserCryptoMs += performance.now() - t;
      if ((msg.kind === "result" || msg.kind === "error") && msg.id !== null) this.#answers.settle(msg.id, msg);
    });
  }

  async open(account: KeyedAccount, instanceBoxPublicKey: Uint8Array, bundleJson: string): Promise<void> {
    const pending = initiateSession({
      protocolVersion: PROTOCOL_VERSION,
      instanceId: this.instanceId,
      accountId: account.userId,
      accountSecretKey: account.box.privateKey,
      instancePublicKey: instanceBoxPublicKey,
    });
    const reply = new Promise<TRelayFrame>((resolve) => (this.#handshake = resolve));
    await this.pacer.take();
    await emitFrame(this.socket, {
      instanceId: this.instanceId,
      sessionId: this.sessionId,
      kind: "handshake",
      frame: toBase64Url(encodeSessionOpen(bundleJson, pending.message)),
    });
    const f = await reply;
    if (f.kind !== "handshake") throw new Error(`session refused: ${fromUtf8(fromBase64Url(f.frame))}`);
    this.#session = pending.finish(fromBase64Url(f.frame)).session;
  }

  /** The sealed request frame, and the promise of its answer (registered before sending). */
  seal(type: string): { frame: TRelayFrame; answer: Promise<TE2EResponse> } {
    if (!this.#session) throw new Error("not open");
    const t = performance.now();
    const id = randomUUID();
    const plain = { kind: "request", id, expiresAt: Date.now() + 10_000, type, body: {} };
    const frame = toBase64Url(this.#session.seal(utf8(JSON.stringify(plain))));
    browserCryptoMs += performance.now() - t;
    return {
      frame: { instanceId: this.instanceId, sessionId: this.sessionId, kind: "transport", frame },
      answer: this.#answers.wait(id),
    };
  }

  async request(type: string): Promise<TE2EResponse> {
    const { frame, answer } = this.seal(type);
    await Promise.all([emitFrame(this.socket, frame), answer]);
    return answer;
  }
}

// ---------------------------------------------------------------------------------------------
// Optional profile (VEIL_BENCH_PROFILE=1): V8 CPU profiles of this process during the last Veil
// figure and of the companion over its life, self time grouped by where the code lives.

const PROFILE = process.env.VEIL_BENCH_PROFILE === "1";

interface CpuProfile {
  nodes: { id: number; hitCount?: number; callFrame: { url: string; functionName: string } }[];
}

function bucket(url: string, fn: string): string {
  if (fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)" || fn === "(root)") return fn;
  if (/packages\/crypto|@noble/.test(url)) return "crypto (@veil/crypto, @noble)";
  if (/hash-wasm|argon2/.test(url)) return "Argon2id (start-up)";
  if (/\/zod\//.test(url)) return "zod";
  if (/packages\/protocol/.test(url)) return "@veil/protocol";
  if (/apps\/console\/src/.test(url)) return "console (apps/console/src)";
  if (/apps\/companion\/src/.test(url)) return "companion (apps/companion/src)";
  if (/bench\//.test(url)) return "bench (browser end, pacing)";
  if (/socket\.io|engine\.io|\/ws\/|@socket\.io/.test(url)) return "socket.io / engine.io / ws";
  if (url.startsWith("node:") || url === "") return "Node internals (TLS, streams, timers, native)";
  return "other";
}

function summarize(title: string, profile: CpuProfile): void {
  const by = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const key = bucket(n.callFrame.url, n.callFrame.functionName);
    by.set(key, (by.get(key) ?? 0) + hits);
  }
  const busy = total - (by.get("(idle)") ?? 0);
  console.log(`\n${title} (self time, share of non-idle samples)`);
  for (const [k, v] of [...by].filter(([k]) => k !== "(idle)").sort((x, y) => y[1] - x[1]))
    console.log(`  ${((v * 100) / Math.max(1, busy)).toFixed(1).padStart(5)} %  ${k}`);
}

function spawnProfiledCompanion(stateDir: string, dir: string): ChildProcess & { output: () => string } {
  const main = path.join(import.meta.dirname, "..", "apps", "companion", "src", "main.ts");
  const child = spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--import", "tsx", main, "run"], {
    cwd: import.meta.dirname,
    env: { ...process.env, NODE_ENV: "production", VEIL_STATE_DIR: stateDir, VEIL_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
  return Object.assign(child, { output: () => out });
}

const fmtFigure = (f: Figure): string =>
  `${Math.round(f.perSec).toLocaleString("en-US").padStart(6)} round trips/s · p50 ${f.p50.toFixed(2)} ms · p99 ${f.p99.toFixed(2)} ms · CPU/round trip: relay+browser ${f.cpuHere.toFixed(3)} ms${f.browserCrypto > 0 ? ` (browser seal+open ${f.browserCrypto.toFixed(3)})` : ""}, far end ${f.cpuPeer.toFixed(3)} ms`;

// ---------------------------------------------------------------------------------------------
// Set-up: console, admin with real keys, instance made in "browser" code, real companion.

const load0 = loadavg()[0] ?? 0;
console.log(
  `# relay round trips\n${new Date().toISOString()} · node ${process.version} · ${availableParallelism()} cores · ${cpus()[0]?.model ?? "?"} · load ${load0.toFixed(1)}`,
);
const unlimited = { perIp: 1e9, perAccount: 1e9, windowSeconds: 60 };
const dataDir = mkdtempSync(path.join(tmpdir(), "veil-bench-relay-"));
const stateDir = companionStateDir();
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
let bareServer: HttpsServer | undefined;
let bareIo: SocketIoServer.Server | undefined;
const consoleNode = await startConsole({
  port: 0,
  host: "127.0.0.1",
  httpPort: null,
  informPort: null,
  dataDir,
  databaseUrl: null,
  ui: false,
  banner: false,
  log: () => undefined,
  rateLimits: {
    ...DEFAULT_RATE_LIMITS,
    login: unlimited,
    signup: unlimited,
    apiRead: unlimited,
    apiWrite: unlimited,
  },
});

async function stopChild(child: ChildProcess & { exit?: Promise<number | null> }): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = child.exit ?? new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exit;
  clearTimeout(timer);
}

try {
  const api = client(consoleNode.httpsPort, consoleNode.certificate.certPem);
  const ca = consoleNode.certificate.certPem;
  const t0 = performance.now();
  const admin = await signUpKeyed(api, "admin@example.test");
  const inst = await makeInstance(admin, "bench site");
  const created = await api("/api/instances", { body: inst.body, token: admin.token });
  if (created.status !== 201) throw new Error(`instance: ${created.status} ${created.text}`);
  const info = (await api("/api/companion-info", { token: admin.token })).json as TCompanionInfoResponse;
  const enrollment = encodeEnrollment({
    consoleUrl: info.consoleUrl,
    instanceId: inst.instanceId,
    token: inst.token,
    signerFingerprint: toBase64Url(fingerprint(admin.identity.publicKey)),
    consolePin: info.consolePin,
  });
  const profileDir = path.join(dataDir, "profiles");
  const quiet = { VEIL_LOG_LEVEL: "warn" };
  const enroll = spawnCompanion("enroll", stateDir, { VEIL_ENROLL: enrollment, ...quiet });
  children.push(enroll);
  if ((await enroll.exit) !== 0) throw new Error(`enroll failed:\n${enroll.output()}`);
  // Profiled: the same CLI under node --cpu-prof (not allowed in NODE_OPTIONS, so not through tsx's bin).
  const companion = PROFILE ? spawnProfiledCompanion(stateDir, profileDir) : spawnCompanion("run", stateDir, quiet);
  children.push(companion);
  await eventually(
    async () =>
      ((await api(`/api/instances/${inst.instanceId}`, { token: admin.token })).json as TInstanceResponse).instance
        .presence.online,
    20_000,
    "companion online",
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${companion.output()}`);
  });
  const bundleJson = JSON.stringify(signGrantBundle(admin, admin, inst.instanceId, "admin"));
  const openSession = async (): Promise<BrowserSession> => {
    const s = browserSocket(consoleNode.httpsPort, ca, admin.token);
    sockets.push(s);
    await connected(s);
    const session = new BrowserSession(s, inst.instanceId);
    await session.open(admin, inst.box.publicKey, bundleJson);
    return session;
  };
  const one = await openSession();
  const sample = one.seal("ping");
  const requestBytes = sample.frame.frame.length;
  let answerBytes = 0;
  const sizer = (f: TRelayFrame) => (answerBytes = f.frame.length);
  one.socket.once("e2e:frame", sizer);
  await Promise.all([emitFrame(one.socket, sample.frame), sample.answer]);
  if ((await sample.answer).kind !== "result") throw new Error(`ping: ${JSON.stringify(await sample.answer)}`);
  const many = [one];
  for (let i = 1; i < SOCKETS; i++) many.push(await openSession());
  console.log(
    `set-up ${((performance.now() - t0) / 1000).toFixed(1)} s: console (PGlite), companion enrolled and online, ${SOCKETS} browser sockets with one E2E session each`,
  );
  console.log(
    `frames: request ${requestBytes} B, answer ${answerBytes} B (base64url of the sealed ping and its result); the bare relay uses the same sizes\n`,
  );

  // ----- (a) bare socket.io relay ------------------------------------------------------------
  const tls = path.join(dataDir, "tls");
  bareServer = createServer({
    cert: readFileSync(path.join(tls, "self-signed.crt")),
    key: readFileSync(path.join(tls, "self-signed.key")),
  });
  bareIo = new Server(bareServer, { serveClient: false, allowEIO3: false });
  let peerSocket: ServerSocket | undefined;
  let browserEnd: ServerSocket | undefined;
  bareIo.of("/peer").on("connection", (s) => {
    peerSocket = s;
    s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
      browserEnd?.emit("e2e:frame", f);
      ack({ ok: true });
    });
  });
  bareIo.on("connection", (s) => {
    browserEnd = s;
    s.on("e2e:frame", (f: TRelayFrame, ack: (a: TSocketAck) => void) => {
      peerSocket?.emit("e2e:frame", f);
      ack({ ok: true });
    });
  });
  await new Promise<void>((r) => bareServer?.listen(0, "127.0.0.1", r));
  const barePort = (bareServer.address() as { port: number }).port;
  const peer = spawn(TSX, [import.meta.filename, "--bare-peer"], {
    env: { ...process.env, BARE_PORT: String(barePort), BARE_CA: ca, BARE_ANSWER_BYTES: String(answerBytes) },
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(peer);
  await eventually(() => peerSocket !== undefined, 15_000, "bare peer connected");
  const a = connect(`https://localhost:${barePort}/`, {
    transports: ["websocket"],
    ca,
    reconnection: false,
    forceNew: true,
  });
  sockets.push(a);
  await connected(a);
  const bareAnswers = new Waiters<void>();
  a.on("e2e:frame", (f: TRelayFrame) => bareAnswers.settle(f.frame.slice(0, 22), undefined));
  const pad = "a".repeat(Math.max(0, requestBytes - 22));
  const bareRoundTrip = async (): Promise<number> => {
    const t = performance.now();
    const id = toBase64Url(randomBytes(16)); // 22 characters
    const frame: TRelayFrame = {
      instanceId: inst.instanceId,
      sessionId: one.sessionId,
      kind: "transport",
      frame: id + pad,
    };
    const answer = bareAnswers.wait(id);
    await Promise.all([emitFrame(a, frame), answer]);
    return performance.now() - t;
  };
  const bareSeq = await run(bareRoundTrip, 1, peer.pid);
  const bareConc = await run(bareRoundTrip, IN_FLIGHT, peer.pid);
  a.disconnect();
  await stopChild(peer);

  // ----- (b) Veil: console + companion + browser E2E session ---------------------------------
  const companionPacer = new Pacer(PER_COMPANION_FRAMES.perSecond, PER_COMPANION_FRAMES.burst);
  const ping = async (session: BrowserSession): Promise<number> => {
    await companionPacer.take();
    await session.pacer.take();
    const t = performance.now();
    const r = await session.request("ping");
    if (r.kind !== "result") throw new Error(`ping: ${JSON.stringify(r)}`);
    return performance.now() - t;
  };
  const veilOneSeq = await run(() => ping(one), 1, companion.pid);
  const veilOneConc = await run(() => ping(one), IN_FLIGHT, companion.pid);
  const oneWaits = one.pacer.waits;
  let next = 0;
  const veilManySeq = await run(() => ping(many[next++ % SOCKETS] ?? one), 1, companion.pid);
  const inspector = PROFILE ? new Inspector() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.start");
  }
  const veilManyConc = await run((lane) => ping(many[lane % SOCKETS] ?? one), IN_FLIGHT, companion.pid);
  const here = inspector ? ((await inspector.post("Profiler.stop")) as { profile: CpuProfile }).profile : undefined;
  inspector?.disconnect();

  // ----- Report ------------------------------------------------------------------------------
  const load1 = loadavg()[0] ?? 0;
  console.log(
    `${DURATION_MS / 1000} s per figure after ${WARMUP_MS} ms warm-up, load ${load0.toFixed(1)} → ${load1.toFixed(1)}`,
  );
  const rows: [string, Figure, Figure][] = [];
  console.log(`\n(a) bare socket.io relay`);
  console.log(`  sequential        ${fmtFigure(bareSeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(bareConc)}`);
  console.log(`\n(b) Veil, 1 browser socket, 1 session (console budget 200 frames/s per browser socket)`);
  console.log(`  sequential        ${fmtFigure(veilOneSeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(veilOneConc)}`);
  console.log(`  (${oneWaits} requests waited for the socket's frame budget)`);
  console.log(`\n(b') Veil, ${SOCKETS} browser sockets, 1 session each, requests spread over them`);
  console.log(`  sequential        ${fmtFigure(veilManySeq)}`);
  console.log(`  ${IN_FLIGHT} in flight      ${fmtFigure(veilManyConc)}`);
  console.log(`  (${companionPacer.waits} requests in all waited for the companion's frame budget)`);
  rows.push(
    ["1 socket, sequential", veilOneSeq, bareSeq],
    [`1 socket, ${IN_FLIGHT} in flight`, veilOneConc, bareConc],
    [`${SOCKETS} sockets, sequential`, veilManySeq, bareSeq],
    [`${SOCKETS} sockets, ${IN_FLIGHT} in flight`, veilManyConc, bareConc],
  );
  if (here) summarize(`profile: console + browser end, ${SOCKETS} sockets, ${IN_FLIGHT} in flight`, here);
  if (PROFILE) {
    await stopChild(companion);
    for (const file of readdirSync(profileDir))
      summarize(
        `profile: companion process ${file} (whole life, start-up included)`,
        JSON.parse(readFileSync(path.join(profileDir, file), "utf8")) as CpuProfile,
      );
  }
  console.log(`\nTargets: Veil throughput ≥ 0.70× bare, Veil p99 < 2× bare p99`);
  for (const [label, veil, bare] of rows) {
    const tput = veil.perSec / bare.perSec;
    const p99 = veil.p99 / bare.p99;
    console.log(
      `  ${label.padEnd(28)} throughput ${tput.toFixed(3)}× ${tput >= 0.7 ? "ok" : "MISSED"} · p99 ${p99.toFixed(2)}× ${p99 < 2 ? "ok" : "MISSED"}`,
    );
  }
} finally {
  for (const s of sockets) s.disconnect();
  bareIo?.close();
  bareServer?.close();
  for (const child of children) await stopChild(child);
  await consoleNode.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}
