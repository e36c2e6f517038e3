// Load drivers: paced loops run one at a time or many in flight for a fixed time, with latency
// percentiles and CPU per round trip.
import { readdirSync, readFileSync } from "node:fs";

export const DURATION_MS = Number(process.env.VEIL_BENCH_RELAY_MS ?? 4_000);
export const WARMUP_MS = 500;
export const IN_FLIGHT = 20;

export interface Figure {
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
export class Pacer {
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
 * latency, but it does lower the rate). `cryptoMs` reads the browser end's running crypto time.
 */
export async function run(
  op: (lane: number) => Promise<number>,
  lanes: number,
  peerPid: number | undefined,
  cryptoMs: () => number,
): Promise<Figure> {
  const loop = async (until: number, lane: number, latencies: number[] | null) => {
    while (performance.now() < until) {
      const ms = await op(lane);
      latencies?.push(ms);
    }
  };
  const warmEnd = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: lanes }, (_, i) => loop(warmEnd, i, null)));
  const latencies: number[] = [];
  const crypto0 = cryptoMs();
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
    browserCrypto: (cryptoMs() - crypto0) / n,
  };
}

export const fmtFigure = (f: Figure): string =>
  `${Math.round(f.perSec).toLocaleString("en-US").padStart(6)} round trips/s · p50 ${f.p50.toFixed(2)} ms · p99 ${f.p99.toFixed(2)} ms · CPU/round trip: relay+browser ${f.cpuHere.toFixed(3)} ms${f.browserCrypto > 0 ? ` (browser seal+open ${f.browserCrypto.toFixed(3)})` : ""}, far end ${f.cpuPeer.toFixed(3)} ms`;
