// One companion ingesting N simulated devices (UniFi inform every 10 s), for several N, against a
// bare inform server under the same load in the same run.
//
//  - Veil: the real console (in-process, as in relay.ts), a real companion (lib/ingest-companion.ts:
//    startCompanion as `veil-companion run` calls it, state enrolled with the real CLI) in a child
//    process, the device simulator (apps/simulator) with N devices in another child process, and
//    a browser end in this process holding a real E2E session through the console with four
//    `devices.watch` subscriptions (100 MACs each, 100 ms coalescing: what a devices page with
//    rows on screen asks for).
//  - bare (baseline): the same simulator load against lib/ingest-bare.ts, which only decrypts,
//    decompresses, checks and parses each inform (packages/devices, packages/protocol) and answers.
//
// Per N: CPU share of one core and RSS (now and peak) of the companion process, read from /proc;
// the latency from a frame's arrival at the companion to the browser's update, as
// receivedAt − lastSeen of every watched device whose lastSeen moved (lastSeen is stamped by the
// companion when it has read, decrypted and parsed the inform; both clocks are this machine's).
//
// Run: pnpm --filter @veil/bench exec tsx devices-ingest.ts [--devices 1000,2500,5000,10000]
//      [--measure-s 60] [--compact-every-s 900]   (VEIL_BENCH_PROFILE=<folder> adds the companion's V8 CPU profiles)
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ZDevicesChangedSchema, ZDevicesStatsResultSchema } from "../packages/protocol/src/index";
import { bundleScript, companionNodeFlags } from "./lib/companion-bundle";
import { header } from "./lib/measure";
import { CpuMeter, memBytes, mib } from "./lib/proc-stats";
import { stopChild } from "./lib/relay-common";
import { enrollInstance, startRig, tearDown, type BrowserSession } from "./lib/relay-veil";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "1000,2500,5000,10000" },
    // A whole minute: each device's minute closes (history, store records) fall in it once.
    "measure-s": { type: "string", default: "60" },
    "compact-every-s": { type: "string", default: "900" },
  },
});
const SIZES = values.devices.split(",").map(Number);
const MEASURE_MS = Number(values["measure-s"]) * 1000;
/** The store's time-based compaction (the companion's default, 15 min; 10 makes every window hold one). */
const COMPACT_EVERY_MS = Number(values["compact-every-s"]) * 1000;
const WATCHES = 4;
const PROFILE_DIR = process.env.VEIL_BENCH_PROFILE || undefined;

/** The companion and the bare server run bundled (the companion as installed); the simulator through tsx. */
const BUNDLED = new Map(["ingest-companion.ts", "ingest-bare.ts"].map((s) => [s, bundleScript(s)]));

/** A child running a bench/lib script in its own node process (its pid is the script's). */
function child(
  script: string,
  args: string[],
): ChildProcess & { lines: unknown[]; next: (p: (v: unknown) => boolean) => Promise<unknown> } {
  // VEIL_BENCH_PROFILE=<folder>: the companion writes a V8 CPU profile there when it stops.
  const profile =
    PROFILE_DIR !== undefined && script === "ingest-companion.ts"
      ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`]
      : [];
  const bundled = BUNDLED.get(script);
  // The companion runs with the Node flags it ships with (its systemd unit's), then any of
  // VEIL_BENCH_COMPANION_NODE_ARGS (e.g. V8 heap settings; a later flag overrides an earlier one).
  const nodeArgs =
    script === "ingest-companion.ts"
      ? [...companionNodeFlags(), ...(process.env.VEIL_BENCH_COMPANION_NODE_ARGS ?? "").split(" ").filter(Boolean)]
      : [];
  const entry = bundled !== undefined ? [bundled] : ["--import", "tsx", path.join(import.meta.dirname, "lib", script)];
  const c = spawn(process.execPath, [...nodeArgs, ...profile, ...entry, ...args], {
    cwd: import.meta.dirname,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: unknown[] = [];
  const waiters: { p: (v: unknown) => boolean; resolve: (v: unknown) => void }[] = [];
  let buf = "";
  let err = "";
  c.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  c.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    for (const l of parts) {
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        continue; // a log line
      }
      lines.push(v);
      for (const w of waiters.splice(0))
        if (w.p(v)) w.resolve(v);
        else waiters.push(w);
    }
  });
  const next = (p: (v: unknown) => boolean): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const found = lines.find(p);
      if (found !== undefined) return resolve(found);
      waiters.push({ p, resolve });
      c.once("exit", (code) => reject(new Error(`${script} exited (${code}) before answering:\n${err}`)));
    });
  return Object.assign(c, { lines, next });
}
const has = (key: string) => (v: unknown) => typeof v === "object" && v !== null && key in v;
const field = (v: unknown, key: string): unknown => (v as Record<string, unknown>)[key];
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  n: number;
  cores: number;
  rss: number;
  hwm: number;
  p50: number;
  p99: number;
  companionP99: number;
  samples: number;
  informsPerSec: number;
  errors: number;
  compactions: number;
  bareCores: number;
  bareRss: number;
  load: number;
}

async function startSimulator(n: number, port: number) {
  const sim = child("ingest-simulator.ts", [String(n), `http://127.0.0.1:${port}/inform`, "7"]);
  const ready = await sim.next(has("ready"));
  const informs = () => {
    const last = [...sim.lines].reverse().find(has("informsSent"));
    return { sent: Number(field(last, "informsSent") ?? 0), errors: Number(field(last, "informErrors") ?? 0) };
  };
  return { sim, macs: field(ready, "macs") as string[], informs };
}

async function veilRun(
  rig: Awaited<ReturnType<typeof startRig>>,
  enrolled: Awaited<ReturnType<typeof enrollInstance>>,
  n: number,
) {
  // Every size starts from an empty device store (the enrolled identity stays).
  for (const f of readdirSync(rig.stateDir))
    if (f.startsWith("devices.") || f.startsWith(".devices.")) rmSync(path.join(rig.stateDir, f), { force: true });
  const companion = child("ingest-companion.ts", [rig.stateDir, String(COMPACT_EVERY_MS)]);
  const { informPort } = (await companion.next(has("informPort"))) as { informPort: number };
  await enrolled.online(() => "");
  const session: BrowserSession = await enrolled.openSession();
  session.ttlMs = 60_000; // as the browser sets it: under load a request may take seconds
  const { sim, macs, informs } = await startSimulator(n, informPort);
  const latencies: number[] = [];
  /** Of which in the companion: from lastSeen to the event's `at` (coalescing wait and its own work). */
  const atCompanion: number[] = [];
  let measuring = false;
  const lastSeen = new Map<string, number>();
  const watches = new Set<string>();
  session.onEvent = (msg) => {
    if (msg.kind !== "event" || !watches.has(msg.subscriptionId)) return;
    const at = Date.now();
    const body = ZDevicesChangedSchema.parse(msg.body);
    for (const d of body.devices) {
      const before = lastSeen.get(d.mac);
      lastSeen.set(d.mac, d.lastSeen);
      if (measuring && before !== undefined && d.lastSeen > before) {
        latencies.push(at - d.lastSeen);
        atCompanion.push(body.at - d.lastSeen);
      }
    }
  };
  const step = Math.max(1, Math.floor(macs.length / (WATCHES * 100)));
  for (let w = 0; w < WATCHES; w++) {
    const watched = macs.filter((_, i) => i % step === 0).slice(w * 100, w * 100 + 100);
    if (watched.length === 0) break;
    const r = await session.request("devices.watch", { intervalMs: 100, macs: watched });
    if (r.kind !== "result") throw new Error(`devices.watch: ${JSON.stringify(r)}`);
    watches.add(String(field(r.body, "subscriptionId")));
  }
  const stats = async () => {
    const r = await session.request("devices.stats");
    if (r.kind !== "result") throw new Error(`devices.stats: ${JSON.stringify(r)}`);
    return ZDevicesStatsResultSchema.parse(r.body);
  };
  // Warm-up: every device adopted (auto-adopt: default-key inform, setparam, first authkey inform) and online.
  const deadline = Date.now() + 60_000;
  while ((await stats()).devices.online < n) {
    if (Date.now() > deadline)
      throw new Error(`only ${(await stats()).devices.online} of ${n} devices online after 60 s`);
    await sleep(1000);
  }
  // Steady state: every device has closed a minute (its 24-hour history ring is allocated) once
  // the clock has passed a minute boundary and one more inform interval.
  await sleep(Math.max(2_000, Math.ceil(Date.now() / 60_000) * 60_000 + 12_000 - Date.now()));
  const pid = companion.pid ?? 0;
  // Peak RSS of the window alone, not of start-up and adoption (Linux: "5" resets VmHWM).
  const peakSince = (() => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
      return "window";
    } catch {
      return "process start";
    }
  })();
  const meter = new CpuMeter(pid);
  const i0 = informs();
  const c0 = (await stats()).counters["store.compactions"] ?? 0;
  measuring = true;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  measuring = false;
  const cores = meter.cores();
  const seconds = (performance.now() - t0) / 1000;
  const i1 = informs();
  const rss = memBytes(pid, "VmRSS");
  const hwm = memBytes(pid, "VmHWM");
  const after = await stats();
  const compactions = (after.counters["store.compactions"] ?? 0) - c0;
  // Informs the companion refused, by reason (unifi.accepted* and unifi.adopted are not refusals).
  const refused = Object.entries(after.counters)
    .filter(([k, v]) => k.startsWith("unifi.") && !/^unifi\.(accepted|adopted)/.test(k) && v > 0)
    .map(([k, v]) => `${k} ${v}`);
  // A compaction still running at the end of the window, or failed ones, are worth knowing.
  const store = {
    failed: after.counters["store.compaction_failed"] ?? 0,
    lastCompactionAgoS:
      after.store.lastCompactionAt === null ? null : (Date.now() - after.store.lastCompactionAt) / 1000,
    logMiB: after.store.logBytes / 2 ** 20,
  };
  const memory = [...companion.lines].reverse().find(has("memory"));
  session.socket.disconnect();
  await stopChild(sim);
  await stopChild(companion);
  latencies.sort((a, b) => a - b);
  atCompanion.sort((a, b) => a - b);
  return {
    companionP99: pct(atCompanion, 0.99),
    cores,
    rss,
    hwm,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    samples: latencies.length,
    informsPerSec: (i1.sent - i0.sent) / seconds,
    errors: i1.errors - i0.errors,
    compactions,
    refused,
    peakSince,
    store,
    memory: (memory === undefined ? undefined : field(memory, "memory")) as Record<string, number> | undefined,
  };
}

async function bareRun(n: number) {
  const bare = child("ingest-bare.ts", []);
  const { port } = (await bare.next(has("port"))) as { port: number };
  const { sim } = await startSimulator(n, port);
  await sleep(12_000); // the first informs are spread over 10 s
  const meter = new CpuMeter(bare.pid ?? 0);
  await sleep(MEASURE_MS);
  const cores = meter.cores();
  const rss = memBytes(bare.pid ?? 0, "VmRSS");
  await stopChild(sim);
  await stopChild(bare);
  return { cores, rss };
}

header("devices ingest");
const rig = await startRig();
const rows: Row[] = [];
try {
  const enrolled = await enrollInstance(rig);
  for (const n of SIZES) {
    const load = loadavg()[0] ?? 0;
    const veil = await veilRun(rig, enrolled, n);
    const bare = await bareRun(n);
    rows.push({ n, ...veil, bareCores: bare.cores, bareRss: bare.rss, load });
    console.log(
      `N=${n}: companion ${veil.cores.toFixed(3)} cores, RSS ${mib(veil.rss)} (peak since ${veil.peakSince} ${mib(veil.hwm)}; V8 heap ${mib(veil.memory?.heapUsed ?? 0)} used of ${mib(veil.memory?.heapTotal ?? 0)}, array buffers ${mib(veil.memory?.arrayBuffers ?? 0)}), arrival→browser p50 ${veil.p50} ms p99 ${veil.p99} ms (in the companion p99 ${veil.companionP99} ms; ${veil.samples} updates), ${veil.informsPerSec.toFixed(0)} informs/s, ${veil.errors} inform errors (companion refusals since start: ${veil.refused.join(", ") || "none"}), ${veil.compactions} compactions (${veil.store.failed} failed; last ${veil.store.lastCompactionAgoS?.toFixed(0) ?? "never"} s ago; log ${veil.store.logMiB.toFixed(1)} MiB) · bare ${bare.cores.toFixed(3)} cores, RSS ${mib(bare.rss)} · load ${load.toFixed(1)}`,
    );
  }
} finally {
  await tearDown(rig);
}

console.log(
  `\n${MEASURE_MS / 1000} s measured per size after every device was adopted and online and had closed a minute; store compaction every ${COMPACT_EVERY_MS / 1000} s (or at 64 MiB of log); load ${loadavg()[0]?.toFixed(1)} at end`,
);
console.log(
  "\n| devices | informs/s | companion CPU (cores) | bare CPU | CPU vs bare | companion RSS (peak) | bare RSS | arrival→browser p50 / p99 | of which in the companion, p99 | updates | compactions | load |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows)
  console.log(
    `| ${r.n.toLocaleString("en-US")} | ${r.informsPerSec.toFixed(0)} | ${r.cores.toFixed(3)} | ${r.bareCores.toFixed(3)} | ${(r.cores / r.bareCores).toFixed(1)}× | ${mib(r.rss)} (${mib(r.hwm)}) | ${mib(r.bareRss)} | ${r.p50} / ${r.p99} ms | ${r.companionP99} ms | ${r.samples} | ${r.compactions} | ${r.load.toFixed(1)} |`,
  );
const first = rows[0];
const last = rows.at(-1);
if (first && last && last !== first)
  console.log(
    `\nGrowth ${first.n} → ${last.n} devices (×${(last.n / first.n).toFixed(0)}): CPU ×${(last.cores / first.cores).toFixed(1)}, RSS ×${(last.rss / first.rss).toFixed(1)}, p99 ${first.p99} → ${last.p99} ms`,
  );
if (last)
  console.log(
    `Targets at ${last.n}: CPU < 0.5 core ${last.cores < 0.5 ? "met" : "MISSED"} · RSS < 512 MiB ${last.rss < 512 * 1024 * 1024 ? "met" : "MISSED"} · p99 < 200 ms ${last.p99 < 200 ? "met" : "MISSED"}`,
  );
