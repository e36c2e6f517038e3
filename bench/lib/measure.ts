import { availableParallelism, cpus, loadavg } from "node:os";

/**
 * Tiny benchmark harness: time-bounded, median of rounds, each figure printed beside the
 * baseline measured in the same run (figures move ±30% between runs on a shared 2-core box;
 * ratios move much less).
 */

export interface Sample {
  /** Operations per second, median over the rounds. */
  readonly opsPerSec: number;
  /** Milliseconds per operation, median over the rounds. */
  readonly msPerOp: number;
  readonly iterations: number;
}

export interface MeasureOptions {
  /** Wall-clock budget for the whole measurement, warm-up included. */
  readonly budgetMs?: number;
  readonly rounds?: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs `fn` repeatedly for about `budgetMs` (default 1.2 s) and returns the median rate. */
export function measure(fn: () => unknown, options: MeasureOptions = {}): Sample {
  const budgetMs = options.budgetMs ?? 1_200;
  const rounds = options.rounds ?? 5;
  // Warm-up: JIT and caches, about 15% of the budget, and at least one call.
  const warmEnd = performance.now() + budgetMs * 0.15;
  let sink: unknown;
  do sink = fn();
  while (performance.now() < warmEnd);
  const roundMs = (budgetMs * 0.85) / rounds;
  const rates: number[] = [];
  let iterations = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    let n = 0;
    let now = start;
    do {
      sink = fn();
      n++;
      now = performance.now();
    } while (now - start < roundMs);
    iterations += n;
    rates.push((n * 1000) / (now - start));
  }
  if (sink === Symbol.for("never")) console.log(sink);
  const opsPerSec = median(rates);
  return { opsPerSec, msPerOp: 1000 / opsPerSec, iterations };
}

/** Like `measure` for async work, one call at a time, a fixed number of runs (slow ops). */
export async function measureAsync(fn: () => Promise<unknown>, runs: number, warmup = 1): Promise<Sample> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  const msPerOp = median(times);
  return { opsPerSec: 1000 / msPerOp, msPerOp, iterations: runs };
}

export interface Row {
  readonly operation: string;
  readonly implementation: string;
  readonly figure: string;
  /** How many times slower than the baseline of its group (1.0× for the baseline itself). */
  readonly ratio: string;
}

export const fmt = {
  mbps(sample: Sample, bytes: number): string {
    return `${((sample.opsPerSec * bytes) / 1e6).toFixed(1)} MB/s`;
  },
  ops(sample: Sample): string {
    return `${Math.round(sample.opsPerSec).toLocaleString("en-US")} ops/s`;
  },
  ms(sample: Sample): string {
    return `${sample.msPerOp.toFixed(0)} ms`;
  },
  /** Slowdown of `sample` against `baseline` (higher is slower). */
  ratio(sample: Sample, baseline: Sample): string {
    const r = baseline.opsPerSec / sample.opsPerSec;
    return `${r.toFixed(r < 1 ? 2 : 1)}×`;
  },
};

/** Prints a Markdown table, ready for docs/PERFORMANCE.md. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log("| operation | implementation | figure | slower than baseline |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.operation} | ${r.implementation} | ${r.figure} | ${r.ratio} |`);
}

export function header(name: string): void {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  // The load average shows how much else was running: above ~2 on two cores, distrust the figures.
  const load = loadavg()[0]?.toFixed(1) ?? "?";
  console.log(
    `# ${name}\n${new Date().toISOString()} · node ${process.version} · ${availableParallelism()} cores · ${cpu} · load ${load}`,
  );
}
