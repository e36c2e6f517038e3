// Bundled by esbuild into the page veil-browser.ts opens: the @veil/crypto calls the console
// makes in the browser, timed there. The same cases run in Node by veil-browser.ts.
import { veilCases } from "../lib/veil-cases";

async function benchVeil(budgetMs: number): Promise<{ operation: string; bytes: number; opsPerSec: number }[]> {
  const out: { operation: string; bytes: number; opsPerSec: number }[] = [];
  for (const c of veilCases()) {
    const run = c.prepare();
    const warmEnd = performance.now() + budgetMs * 0.15;
    do run();
    while (performance.now() < warmEnd);
    const rates: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      let n = 0;
      let now = start;
      do {
        run();
        n++;
        now = performance.now();
      } while (now - start < (budgetMs * 0.85) / 5);
      rates.push((n * 1000) / (now - start));
    }
    out.push({ operation: c.operation, bytes: c.bytes, opsPerSec: rates.sort((a, b) => a - b)[2] ?? 0 });
  }
  return out;
}

(globalThis as unknown as { benchVeil: typeof benchVeil }).benchVeil = benchVeil;
