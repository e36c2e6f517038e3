// Terminal keystroke round trips through the console against a bare socket.io relay, in one run.
//
//  - Veil: one keystroke = a sealed `terminal.input` request from the browser end (a Noise_KK
//    session from @veil/crypto exactly as the browser opens it, lib/relay-veil.ts) → the real
//    console's relay (its own process) → the real companion CLI (child process, enrolled with the real
//    CLI) → the simulated device's shell over the Veil device channel (WSS + AES-256-GCM; the
//    simulator runs in this process) → its echo back the same way as a `terminal.output` event.
//    Timed from sealing the request to opening the event that carries the echo.
//  - bare: the same socket.io hops without crypto, companion or device: this process → an HTTPS
//    socket.io server (its own process) → an echo peer (child process) → back (lib/relay-bare.ts), with frames of
//    the sizes the Veil keystroke and echo frames have.
// Keystrokes go one at a time (a typist waits for the echo); KEYS of them after WARMUP.
//
// Then bulk output: `seq 1 200000` (1.49 MB) printed by the device, timed from the input to the
// last prompt, on a fresh terminal each time, alternately without acknowledgements (the stream's
// window never applies) and with them as the browser's channel sends them (the first event at
// once, then every quarter window): what push-stream flow control costs.
//
// Run: pnpm --filter @veil/bench exec tsx terminal.ts   (VEIL_BENCH_KEYS=<keystrokes>)
import { loadavg } from "node:os";
import path from "node:path";
import {
  STREAM_WINDOW_BYTES,
  type TE2EResponse,
  type TRelayFrame,
  type TTerminalOutputEvent,
} from "../packages/protocol/src/index";
import { startSimulator, type SimulatorHandle } from "../apps/simulator/src/index";
import { eventually } from "../apps/console/test/helpers/instances";
import { spawnBundledCompanion } from "./lib/companion-bundle";
import { header } from "./lib/measure";
import { BareRelay } from "./lib/relay-bare";
import { stopChild } from "./lib/relay-common";
import { enrollInstance, sendBatched, startRig, tearDown, type BrowserSession, type Rig } from "./lib/relay-veil";

const KEYS = Number(process.env.VEIL_BENCH_KEYS ?? 500);
const SEQ_LINES = 200_000;
const BULK_ROUNDS = 3;
const WARMUP = 50;

const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const summary = (samples: readonly number[]) => {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1) ?? 0 };
};
const fmtMs = (ms: number): string => `${ms.toFixed(2)} ms`;

/** The companion's enrolled state, running with its device channel on 127.0.0.1, and an admin session. */
async function setUp(rig: Rig) {
  const { inst, online, openSession } = await enrollInstance(rig);
  const companion = spawnBundledCompanion("run", rig.stateDir, {
    VEIL_INFORM_PORT: "0",
    VEIL_DEVICE_CHANNEL_PORT: "0",
    VEIL_DEVICE_BIND: "127.0.0.1",
    VEIL_DEVICE_PUBLIC_HOST: "127.0.0.1",
    VEIL_SCAN_RANGES: "127.0.0.0/24",
  });
  rig.children.push(companion);
  await online(companion.output);
  return { session: await openSession(), companion, instanceId: inst.instanceId };
}

const ok = <T>(r: TE2EResponse, what: string): T => {
  if (r.kind !== "result") throw new Error(`${what}: ${JSON.stringify(r)}`);
  return r.body as T;
};

/** A terminal on the simulated device; `key` times one keystroke to its echo. */
async function openTerminal(session: BrowserSession, mac: string) {
  let onOutput: ((text: string) => void) | undefined;
  session.onEvent = (msg) => {
    if (msg.kind !== "event" || msg.type !== "terminal.output") return;
    const body = msg.body as TTerminalOutputEvent;
    if (body.kind === "data") onOutput?.(Buffer.from(body.data, "base64url").toString("utf8"));
  };
  let banner = "";
  const prompt = new Promise<void>((resolve) => {
    onOutput = (t) => {
      banner += t;
      if (banner.includes("# ")) resolve();
    };
  });
  const { subscriptionId } = ok<{ subscriptionId: string }>(
    await session.request("terminal.open", { mac, cols: 80, rows: 24 }),
    "terminal.open",
  );
  await prompt;
  let sizes = { request: 0, answer: 0 };
  // Alternate a letter and a backspace so the shell's line never fills up; both echo at once.
  let n = 0;
  const key = async (): Promise<number> => {
    const ch = n++ % 2 === 0 ? "a" : "\x7f";
    const echo = new Promise<void>((resolve) => (onOutput = () => resolve()));
    const t = performance.now();
    const { frame, answer } = session.seal("terminal.input", {
      subscriptionId,
      data: Buffer.from(ch).toString("base64url"),
    });
    sizes = { ...sizes, request: frame.frame.length };
    await Promise.all([sendBatched(session.socket, frame), echo]);
    const ms = performance.now() - t;
    ok(await answer, "terminal.input");
    return ms;
  };
  /** Sizes of the frames one keystroke brings back (its result and the echo event): the larger one. */
  const answerSize = async (): Promise<number> => {
    const lengths: number[] = [];
    const listen = (fs: TRelayFrame[]) => lengths.push(...fs.map((f) => f.frame.length));
    session.socket.on("e2e:frames", listen);
    await key();
    await new Promise((r) => setTimeout(r, 100));
    session.socket.off("e2e:frames", listen);
    return Math.max(...lengths);
  };
  /** `seq 1 SEQ_LINES` on this terminal: ms from the input to the prompt after it, acknowledging or not. */
  const bulk = async (acking: boolean): Promise<number> => {
    let text = "";
    let unacked = -1;
    const done = new Promise<void>((resolve) => {
      session.onEvent = (msg) => {
        if (msg.kind !== "event" || msg.type !== "terminal.output") return;
        const body = msg.body as TTerminalOutputEvent;
        if (body.kind === "data") text += Buffer.from(body.data, "base64url").toString("utf8");
        if (acking) {
          // The browser counts decrypted message bytes; the body's JSON is close enough here.
          const bytes = JSON.stringify(msg).length;
          if (unacked < 0 || unacked + bytes >= STREAM_WINDOW_BYTES / 4) {
            unacked = 0;
            void session.ack(subscriptionId, msg.seq);
          } else unacked += bytes;
        }
        if (text.length > SEQ_LINES * 7 && text.endsWith("# ")) resolve();
      };
    });
    const t = performance.now();
    const { frame, answer } = session.seal("terminal.input", {
      subscriptionId,
      data: Buffer.from(`seq 1 ${SEQ_LINES}\r`).toString("base64url"),
    });
    await Promise.all([sendBatched(session.socket, frame), done]);
    ok(await answer, "terminal.input");
    return performance.now() - t;
  };
  return { subscriptionId, key, sizes: () => sizes, answerSize, bulk };
}

const load0 = loadavg()[0] ?? 0;
header("terminal keystroke round trips");
const rig = await startRig({ consoleProcess: true });
let sim: SimulatorHandle | undefined;
let bare: BareRelay | undefined;
try {
  const t0 = performance.now();
  const { session, instanceId } = await setUp(rig);
  const siteKey = ok<{ siteKey: string }>(await session.request("siteKey.get"), "siteKey.get").siteKey;
  sim = await startSimulator({
    devices: 1,
    seed: 81,
    siteKey,
    admin: false,
    discovery: "off",
    timeScale: 1,
    startSpreadMs: 0,
    rebootMs: 60_000,
    faultRate: 0,
  });
  const device = sim.devices[0];
  if (!device) throw new Error("no device");
  await eventually(() => device.veil.deviceKey?.type === "device", 30_000, "device key issued");
  // The companion answers terminal.open once the device's own-key session is up.
  const terminal = await (async () => {
    for (let i = 0; ; i++) {
      try {
        return await openTerminal(session, device.mac);
      } catch (error) {
        if (i >= 20) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  })();
  console.log(
    `set-up ${((performance.now() - t0) / 1000).toFixed(1)} s: console, companion, 1 simulated device on the Veil channel`,
  );

  // ----- Veil -------------------------------------------------------------------------------
  const answerBytes = await terminal.answerSize();
  for (let i = 0; i < WARMUP; i++) await terminal.key();
  const veil: number[] = [];
  for (let i = 0; i < KEYS; i++) veil.push(await terminal.key());
  const requestBytes = terminal.sizes().request;
  console.log(`frames: keystroke ${requestBytes} B, echo ${answerBytes} B (base64url of the sealed request and event)`);
  ok(await session.request("terminal.close", { subscriptionId: terminal.subscriptionId }), "terminal.close");

  // ----- bulk output, flow control off and on ------------------------------------------------
  const bulk: Record<"off" | "on", number[]> = { off: [], on: [] };
  for (let round = 0; round < BULK_ROUNDS; round++) {
    for (const mode of ["off", "on"] as const) {
      const t = await openTerminal(session, device.mac);
      bulk[mode].push(await t.bulk(mode === "on"));
      ok(await session.request("terminal.close", { subscriptionId: t.subscriptionId }), "terminal.close");
    }
  }

  // ----- bare socket.io relay ---------------------------------------------------------------
  bare = new BareRelay(path.join(rig.dataDir, "tls"));
  const ends = await bare.start(
    {
      ca: rig.consoleNode.certificate.certPem,
      requestBytes,
      answerBytes,
      instanceId,
      sessionIds: [session.sessionId],
    },
    rig.children,
    rig.sockets,
  );
  for (let i = 0; i < WARMUP; i++) await ends.roundTrip(0);
  const bareSamples: number[] = [];
  for (let i = 0; i < KEYS; i++) bareSamples.push(await ends.roundTrip(0));
  for (const c of ends.clients) c.disconnect();
  await stopChild(ends.peer);

  const v = summary(veil);
  const b = summary(bareSamples);
  console.log(`\n${KEYS} keystrokes each, one at a time (after ${WARMUP} warm-up)`);
  console.log(
    `  bare socket.io relay   p50 ${fmtMs(b.p50)}  p90 ${fmtMs(b.p90)}  p99 ${fmtMs(b.p99)}  max ${fmtMs(b.max)}`,
  );
  console.log(
    `  Veil terminal          p50 ${fmtMs(v.p50)}  p90 ${fmtMs(v.p90)}  p99 ${fmtMs(v.p99)}  max ${fmtMs(v.max)}`,
  );
  console.log(`  ratio Veil / bare      p50 ${(v.p50 / b.p50).toFixed(2)}×  p99 ${(v.p99 / b.p99).toFixed(2)}×`);
  // The bytes `seq 1 SEQ_LINES` prints: each number and its \r\n.
  let printed = 0;
  for (let i = 1; i <= SEQ_LINES; i++) printed += String(i).length + 2;
  const megabytes = printed / 1e6;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const [off, on] = [median(bulk.off), median(bulk.on)];
  console.log(
    `\nbulk output: seq 1 ${SEQ_LINES} (${megabytes.toFixed(2)} MB), median of ${BULK_ROUNDS} alternating rounds`,
  );
  console.log(
    `  without acknowledgements  ${off.toFixed(0)} ms  (${(megabytes / (off / 1000)).toFixed(2)} MB/s)  [${bulk.off.map((x) => x.toFixed(0)).join(", ")}]`,
  );
  console.log(
    `  with acknowledgements     ${on.toFixed(0)} ms  (${(megabytes / (on / 1000)).toFixed(2)} MB/s)  [${bulk.on.map((x) => x.toFixed(0)).join(", ")}]`,
  );
  console.log(`  ratio with / without      ${(off / on).toFixed(3)}× throughput`);
  console.log(`load average at start ${load0.toFixed(2)}, at end ${(loadavg()[0] ?? 0).toFixed(2)}`);
} finally {
  await sim?.stop();
  await bare?.close();
  for (const s of rig.sockets) s.disconnect();
  await tearDown(rig);
}
