/**
 * @veil/crypto's hot calls inside headless Chromium (the console's real runtime, @noble
 * primitives), against the same calls in Node with the same @noble primitives, same run.
 *
 *   pnpm --filter @veil/bench exec tsx veil-browser.ts
 */
import { fileURLToPath } from "node:url";
import { openBenchPage } from "./lib/chromium";
import { fmt, header, measure, printTable, type Row, type Sample } from "./lib/measure";
import { veilCases } from "./lib/veil-cases";

const BUDGET_MS = 800;
header("@veil/crypto in Chromium vs Node (@noble primitives on both)");
const node = veilCases().map((c) => ({ c, sample: measure(c.prepare(), { budgetMs: BUDGET_MS }) }));

const bench = await openBenchPage(fileURLToPath(new URL("./browser/veil-entry.ts", import.meta.url)));
let inBrowser: { operation: string; bytes: number; opsPerSec: number }[];
try {
  inBrowser = await bench.page.evaluate(
    (budget) =>
      (
        globalThis as unknown as {
          benchVeil(b: number): Promise<{ operation: string; bytes: number; opsPerSec: number }[]>;
        }
      ).benchVeil(budget),
    BUDGET_MS,
  );
} finally {
  await bench.close();
}

const rows: Row[] = [];
for (const [i, { c, sample }] of node.entries()) {
  const b = inBrowser[i];
  if (b?.operation !== c.operation) throw new Error("browser and Node ran different cases");
  const browser: Sample = { opsPerSec: b.opsPerSec, msPerOp: 1000 / b.opsPerSec, iterations: 0 };
  const figure = (s: Sample): string =>
    c.bytes > 0 ? fmt.mbps(s, c.bytes) : `${fmt.ops(s)} (${s.msPerOp.toFixed(2)} ms)`;
  rows.push(
    {
      operation: c.operation,
      implementation: "Node, noblePrimitives (baseline)",
      figure: figure(sample),
      ratio: "1.0×",
    },
    {
      operation: c.operation,
      implementation: `Chromium ${bench.version}`,
      figure: figure(browser),
      ratio: fmt.ratio(browser, sample),
    },
  );
}
printTable("@veil/crypto calls (higher is better)", rows);
