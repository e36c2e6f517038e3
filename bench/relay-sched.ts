// Where a round trip of bench/relay.ts waits, one request at a time: the kernel scheduler's view of
// the three processes (browser end, relay, far end), bare and Veil, from `perf record` of the
// sched_switch, sched_wakeup and write tracepoints over 2 s of each side (twice, alternating).
//
// For each process's main thread: its CPU per round trip, how often it runs, how long it runs
// before its first write to a socket (receiving and handling what woke it) and after it (until it
// sleeps again: a process it woke on the same CPU waits for that). For each wake-up of one
// process by another: how often the woken one was put on the waker's CPU, how long it waited
// before it ran there and on the other CPU, and how often it found the other CPU idle.
// docs/PERFORMANCE.md ("Session 16") reads these figures.
//
// Needs perf with tracepoints (root, or perf_event_paranoid ≤ -1). Not in `pnpm bench`.
// Run: pnpm --filter @veil/bench exec tsx relay-sched.ts
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { header } from "./lib/measure";
import { BareRelay } from "./lib/relay-bare";
import { pacedPing, setUpVeil, startRig, tearDown } from "./lib/relay-veil";

const TRACE_MS = 2_000;
const WARMUP_MS = 1_500;
const ROLES = ["browser end", "relay", "far end"] as const;
type Role = (typeof ROLES)[number];

try {
  execFileSync("perf", ["--version"], { stdio: "ignore" });
} catch {
  console.error("relay-sched.ts needs perf (Debian: linux-perf) with access to tracepoints");
  process.exit(1);
}

/** Per process: run time, runs, and what comes before and after the first write of a run. */
interface ProcessStats {
  runUs: number;
  runs: number;
  writeRuns: number;
  beforeWriteUs: number;
  afterWriteUs: number;
}

/** Per (waker, woken) pair: wake-ups on the waker's CPU and on the other, and the waits until the woken ran. */
interface WakeStats {
  sameCpu: number;
  sameCpuWaitUs: number;
  otherCpu: number;
  otherCpuWaitUs: number;
  /** Of those on the other CPU, how many found it idle. */
  otherCpuIdle: number;
}

interface Trace {
  processes: Map<Role, ProcessStats>;
  wakes: Map<string, WakeStats>;
  idleUs: number;
}

const LINE = /^\s*(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s(.*)$/;
const field = (text: string, name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(text)?.[1] ?? NaN);

/**
 * Reads `perf script` output; `roles` maps the three main threads' ids (= their pids) to their
 * role. Counts what starts and ends within `window` (µs of CLOCK_MONOTONIC: the driven seconds).
 */
function analyze(script: string, roles: ReadonlyMap<number, Role>, window: readonly [number, number]): Trace {
  const within = (from: number, to: number): boolean => from >= window[0] && to <= window[1];
  const processes = new Map<Role, ProcessStats>(
    ROLES.map((r) => [r, { runUs: 0, runs: 0, writeRuns: 0, beforeWriteUs: 0, afterWriteUs: 0 }]),
  );
  const wakes = new Map<string, WakeStats>();
  /** What runs on each CPU since when, and its first socket write in this run. */
  const running = new Map<number, { tid: number; since: number; firstWrite: number | undefined }>();
  const pending = new Map<
    number,
    { at: number; targetCpu: number; wakerCpu: number; waker: string; targetIdle: boolean }
  >();
  let idleUs = 0;
  for (const line of script.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const tid = Number(m[2]);
    const cpu = Number(m[3]);
    const us = Number(m[4]) * 1e6;
    const [event, rest = ""] = [m[5], m[6]];
    if (event === "sched:sched_switch") {
      const ended = running.get(cpu);
      const p = ended && processes.get(roles.get(ended.tid) as Role);
      if (ended && within(ended.since, us)) {
        if (p) {
          p.runUs += us - ended.since;
          p.runs += 1;
          if (ended.firstWrite !== undefined) {
            p.writeRuns += 1;
            p.beforeWriteUs += ended.firstWrite - ended.since;
            p.afterWriteUs += us - ended.firstWrite;
          }
        } else if (ended.tid === 0) idleUs += us - ended.since;
      }
      const next = field(rest, "next_pid");
      running.set(cpu, { tid: next, since: us, firstWrite: undefined });
      const woke = pending.get(next);
      const wokenRole = roles.get(next);
      if (woke && wokenRole) pending.delete(next);
      if (woke && wokenRole && within(woke.at, us)) {
        const key = `${woke.waker} → ${wokenRole}`;
        const w = wakes.get(key) ?? { sameCpu: 0, sameCpuWaitUs: 0, otherCpu: 0, otherCpuWaitUs: 0, otherCpuIdle: 0 };
        if (woke.targetCpu === woke.wakerCpu) {
          w.sameCpu += 1;
          w.sameCpuWaitUs += us - woke.at;
        } else {
          w.otherCpu += 1;
          w.otherCpuWaitUs += us - woke.at;
          if (woke.targetIdle) w.otherCpuIdle += 1;
        }
        wakes.set(key, w);
      }
    } else if (event === "sched:sched_wakeup") {
      const woken = field(rest, "pid");
      const targetCpu = field(rest, "target_cpu");
      if (roles.has(woken) && !pending.has(woken))
        pending.set(woken, {
          at: us,
          targetCpu,
          wakerCpu: cpu,
          waker: roles.get(tid) ?? "other",
          targetIdle: running.get(targetCpu)?.tid === 0,
        });
    } else if (event === "syscalls:sys_enter_write") {
      // Socket writes; the 8-byte ones are libuv's wake-ups (an eventfd).
      const count = Number.parseInt(/count: (0x[0-9a-f]+)/.exec(rest)?.[1] ?? "0", 16);
      const run = running.get(cpu);
      if (run && run.tid === tid && count > 8 && run.firstWrite === undefined) run.firstWrite = us;
    }
  }
  return { processes, wakes, idleUs };
}

function report(title: string, roundTrips: number, window: readonly [number, number], trace: Trace): void {
  const perRt = (v: number): string => (v / roundTrips).toFixed(1).padStart(6);
  const perSec = (roundTrips * 1e6) / (window[1] - window[0]);
  console.log(`\n${title}: ${Math.round(perSec).toLocaleString("en-US")} round trips/s under the trace`);
  console.log("  main thread    CPU/round trip  runs/round trip  before 1st write  1st write → asleep  (µs)");
  for (const role of ROLES) {
    const p = trace.processes.get(role) as ProcessStats;
    const w = Math.max(1, p.writeRuns);
    console.log(
      `  ${role.padEnd(13)} ${perRt(p.runUs)}          ${(p.runs / roundTrips).toFixed(2).padStart(5)}           ${(p.beforeWriteUs / w).toFixed(1).padStart(6)}            ${(p.afterWriteUs / w).toFixed(1).padStart(6)}`,
    );
  }
  console.log(`  idle ${perRt(trace.idleUs)} µs per round trip, both CPUs together`);
  console.log(
    "  wake-ups (waker → woken)     per round trip   on the waker's CPU: share, wait   on the other: wait, found idle",
  );
  const us = (v: number, n: number): string => `${(n > 0 ? v / n : 0).toFixed(1).padStart(6)} µs`;
  for (const [key, w] of [...trace.wakes].sort((a, b) => b[1].sameCpu + b[1].otherCpu - a[1].sameCpu - a[1].otherCpu)) {
    const count = w.sameCpu + w.otherCpu;
    if (count < roundTrips / 10) continue;
    console.log(
      `  ${key.padEnd(28)} ${(count / roundTrips).toFixed(2).padStart(5)}            ${((w.sameCpu * 100) / count).toFixed(0).padStart(3)} %, ${us(w.sameCpuWaitUs, w.sameCpu)}      ${us(w.otherCpuWaitUs, w.otherCpu)}, ${((w.otherCpuIdle * 100) / Math.max(1, w.otherCpu)).toFixed(0).padStart(3)} %`,
    );
  }
}

header("relay round trips, the scheduler's view");
const rig = await startRig({ consoleProcess: true });
const traceDir = mkdtempSync(path.join(tmpdir(), "veil-relay-sched-"));
let bare: BareRelay | undefined;
try {
  const veil = await setUpVeil(rig);
  bare = new BareRelay(path.join(rig.dataDir, "tls"));
  const ends = await bare.startBeside(rig, veil);
  const { ping } = pacedPing();
  const sides = [
    { name: "bare socket.io relay", op: () => ends.roundTrip(0), pids: [process.pid, ends.relay.pid, ends.peer.pid] },
    { name: "Veil", op: () => ping(veil.one), pids: [process.pid, rig.consoleNode.pid, veil.companion.pid] },
  ];
  const drive = async (op: () => Promise<number>, ms: number): Promise<number> => {
    const until = performance.now() + ms;
    let n = 0;
    for (; performance.now() < until; n++) await op();
    return n;
  };
  for (let round = 1; round <= 2; round++)
    for (const side of sides) {
      await drive(side.op, WARMUP_MS);
      const file = path.join(traceDir, `${round}.data`);
      // perf's own writes are left out (it is the shell it replaces: $$).
      const perf = spawn(
        "sh",
        [
          "-c",
          `exec perf record -q -a -k CLOCK_MONOTONIC -e sched:sched_switch -e sched:sched_wakeup -e syscalls:sys_enter_write --filter "common_pid != $$" -o "${file}" -- sleep ${(TRACE_MS + 600) / 1000}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let perfErrors = "";
      perf.stderr?.on("data", (chunk: Buffer) => (perfErrors += chunk.toString("utf8")));
      const exited = new Promise<number | null>((resolve) => perf.once("exit", resolve));
      await new Promise((r) => setTimeout(r, 300));
      const from = process.hrtime.bigint(); // CLOCK_MONOTONIC, as perf's -k
      const roundTrips = await drive(side.op, TRACE_MS);
      const window = [Number(from / 1000n), Number(process.hrtime.bigint() / 1000n)] as const;
      if ((await exited) !== 0)
        throw new Error(`perf record failed (root or perf_event_paranoid ≤ -1?):\n${perfErrors}`);
      const script = execFileSync("perf", ["script", "-i", file, "-F", "pid,tid,cpu,time,event,trace"], {
        encoding: "utf8",
        maxBuffer: 1 << 30,
        stdio: ["ignore", "pipe", "ignore"],
      });
      const roles = new Map<number, Role>();
      side.pids.forEach((pid, i) => pid !== undefined && roles.set(pid, ROLES[i] as Role));
      report(`${side.name}, round ${round}`, roundTrips, window, analyze(script, roles, window));
    }
  for (const s of ends.clients) s.disconnect();
} finally {
  for (const s of rig.sockets) s.disconnect();
  await bare?.close();
  await tearDown(rig);
  rmSync(traceDir, { recursive: true, force: true });
}
