/**
 * Our own API paths, @veil/crypto with its @noble primitives (the default, and what the browser
 * runs) against the same calls with `nodePrimitives` from `@veil/crypto/node` (what the console
 * and the companion run after `useNativePrimitives()`), same process, same inputs.
 *
 *   pnpm --filter @veil/bench exec tsx crypto-wrapper.ts
 */
import { noblePrimitives, setPrimitives, type Primitives } from "@veil/crypto";
import { nodePrimitives } from "@veil/crypto/node";
import { fmt, header, measure, printTable, type Row, type Sample } from "./lib/measure";
import { veilCases, type VeilCase } from "./lib/veil-cases";

header("@veil/crypto: @noble vs node:crypto primitives through our API");

const cases: VeilCase[] = veilCases();

function timed(primitives: Primitives, c: VeilCase): Sample {
  setPrimitives(primitives);
  try {
    return measure(c.prepare(), { budgetMs: 1_000 });
  } finally {
    setPrimitives(noblePrimitives);
  }
}

const rows: Row[] = [];
for (const c of cases) {
  const native = timed(nodePrimitives, c);
  const noble = timed(noblePrimitives, c);
  const figure = (s: Sample): string => (c.bytes > 0 ? fmt.mbps(s, c.bytes) : fmt.ops(s));
  rows.push(
    { operation: c.operation, implementation: "nodePrimitives (baseline)", figure: figure(native), ratio: "1.0×" },
    {
      operation: c.operation,
      implementation: "noblePrimitives",
      figure: figure(noble),
      ratio: fmt.ratio(noble, native),
    },
  );
}
printTable("Our wrapper paths (higher is better)", rows);
