// Load drivers: paced loops run one at a time or many in flight for a fixed time, with latency
// percentiles and CPU per round trip.
import { readdirSync, readFileSync } from "node:fs";

/** Measured time per figure, over all its rounds. */
export const DURATION_MS = Number(process.env.VEIL_BENCH_RELAY_MS ?? 6_000);
/**
 * Rounds per figure: many short ones. This machine's speed drifts within seconds (one run's 2-s
 * rounds ranged 0.59–0.84× against the bare round beside them); cases that take turns at short
 * intervals sample the same stretches of time, which cancels that drift from their ratios.
 */
export const ROUNDS = 12;
/** Warm-up before each round: the processes of the case were idle while the other cases ran. */
export const WARMUP_MS = 150;
/** Warm-up before the first round of each case (JIT and start-up settling). */
export const FIRST_WARMUP_MS = 2_000;
/**
 * Warm-up of each case before the first measured pass after start-up. The console and the
 * companion are large processes that take longer to reach their steady state than the bare ones:
 * in a throwaway run of three passes straight after set-up, Veil's ratio one at a time was 0.56×,
 * then 0.70× and 0.75× (a second run: 0.65×, then 0.67–0.74×), and relay-sched.ts's first Veil
 * round was the slower one in six runs of six. docs/PERFORMANCE.md, "Session 16".
 */
export const SETTLE_MS = Number(process.env.VEIL_BENCH_SETTLE_MS ?? 6_000);
export const IN_FLIGHT = 20;

export interface Figure {
  readonly perSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
  /** CPU milliseconds per round trip: this process (the browser end), the relay, the far end. */
  readonly cpuHere: number;
  /** Of `cpuHere`, the browser end's sealing and opening (Veil only). */
  readonly browserCrypto: number;
  readonly cpuRelay: number;
  readonly cpuPeer: number;
  /** Round trips per second in each round, in order (the spread of one run). */
  readonly perRound: readonly number[];
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
  /**
   * Takes one token: undefined when one was there, else the wait for one. (Not an async function:
   * under the budget, as nearly always, the caller goes on without a turn of the microtask queue.)
   */
  take(): Promise<void> | undefined {
    if (this.#tryTake()) return undefined;
    return (async () => {
      do await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(this.#tat - this.#tau - performance.now()))));
      while (!this.#tryTake());
      this.waits++;
    })();
  }

  #tryTake(): boolean {
    const now = performance.now();
    const tat = Math.max(this.#tat, now);
    if (tat - now > this.#tau) return false;
    this.#tat = tat + this.#interval;
    return true;
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

/** One configuration to measure: `op` returns a round trip's latency (pacing waits excluded). */
export interface Case {
  readonly op: (lane: number) => Promise<number>;
  readonly lanes: number;
  readonly pids: { relay: number | undefined; peer: number | undefined };
}

interface Tally {
  latencies: number[];
  elapsed: number;
  cpuHere: number;
  cpuRelay: number;
  cpuPeer: number;
  crypto: number;
  perRound: number[];
}

/** `lanes` loops run `op` back to back for `ms`; with `tally`, everything is counted into it. */
async function drive(c: Case, ms: number, cryptoMs: () => number, tally: Tally | null): Promise<void> {
  const until = performance.now() + ms;
  const latencies = tally?.latencies;
  const loop = async (lane: number) => {
    while (performance.now() < until) {
      const latency = await c.op(lane);
      latencies?.push(latency);
    }
  };
  const crypto0 = cryptoMs();
  const cpu0 = process.cpuUsage();
  const relay0 = treeCpuMs(c.pids.relay);
  const peer0 = treeCpuMs(c.pids.peer);
  const count0 = latencies?.length ?? 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: c.lanes }, (_, i) => loop(i)));
  if (tally === null) return;
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  tally.elapsed += elapsed;
  tally.perRound.push(((tally.latencies.length - count0) * 1000) / elapsed);
  tally.cpuHere += (cpu.user + cpu.system) / 1000;
  tally.cpuRelay += treeCpuMs(c.pids.relay) - relay0;
  tally.cpuPeer += treeCpuMs(c.pids.peer) - peer0;
  tally.crypto += cryptoMs() - crypto0;
}

/**
 * Measures every case for DURATION_MS in all, in ROUNDS interleaved rounds (case 1, case 2, …,
 * then again), each after a warm-up, and pools each case's round trips. Interleaving spreads any
 * drift of a shared machine (other load, CPU frequency, JIT still settling) over all cases alike,
 * so the ratios between them hold even when the absolute figures move. `cryptoMs` reads the
 * browser end's running crypto time.
 */
export async function runInterleaved<const C extends readonly Case[]>(
  cases: C,
  cryptoMs: () => number,
  firstWarmupMs = FIRST_WARMUP_MS,
): Promise<{ [K in keyof C]: Figure }> {
  const tallies: Tally[] = cases.map(() => ({
    latencies: [],
    elapsed: 0,
    cpuHere: 0,
    cpuRelay: 0,
    cpuPeer: 0,
    crypto: 0,
    perRound: [],
  }));
  for (const c of cases) await drive(c, firstWarmupMs, cryptoMs, null);
  for (let round = 0; round < ROUNDS; round++)
    for (const [i, c] of cases.entries()) {
      await drive(c, WARMUP_MS, cryptoMs, null);
      await drive(c, DURATION_MS / ROUNDS, cryptoMs, tallies[i] ?? null);
    }
  const figures = tallies.map((t): Figure => {
    const sorted = t.latencies.sort((a, b) => a - b);
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
    const n = sorted.length;
    return {
      perSec: (n * 1000) / t.elapsed,
      p50: pct(0.5),
      p99: pct(0.99),
      count: n,
      cpuHere: t.cpuHere / n,
      cpuRelay: t.cpuRelay / n,
      cpuPeer: t.cpuPeer / n,
      browserCrypto: t.crypto / n,
      perRound: t.perRound,
    };
  });
  return figures as { [K in keyof C]: Figure };
}

export const fmtFigure = (f: Figure): string =>
  `${Math.round(f.perSec).toLocaleString("en-US").padStart(6)} round trips/s · p50 ${f.p50.toFixed(2)} ms · p99 ${f.p99.toFixed(2)} ms · CPU/round trip: browser end ${f.cpuHere.toFixed(3)} ms${f.browserCrypto > 0 ? ` (seal+open ${f.browserCrypto.toFixed(3)})` : ""}, relay ${f.cpuRelay.toFixed(3)} ms, far end ${f.cpuPeer.toFixed(3)} ms`;
