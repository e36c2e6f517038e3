/**
 * Argon2id at the login parameters (64 MiB, t=3, p=1) inside headless Chromium — what a user
 * waits for at login — against the same hash-wasm code in Node, measured in the same run.
 *
 *   pnpm --filter @veil/bench exec tsx argon2-browser.ts
 */
import { fileURLToPath } from "node:url";
import { hashWasmArgon2id } from "./lib/argon2-params";
import { openBenchPage } from "./lib/chromium";
import { fmt, header, measureAsync, printTable, type Sample } from "./lib/measure";

const RUNS = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

header("Argon2id m=64 MiB t=3 p=1 in Chromium");
const node = await measureAsync(hashWasmArgon2id, RUNS);
const nodeHex = Buffer.from(await hashWasmArgon2id()).toString("hex");

const bench = await openBenchPage(fileURLToPath(new URL("./browser/argon2-entry.ts", import.meta.url)));
let result: { hex: string; times: number[] };
try {
  result = await bench.page.evaluate(
    (runs) =>
      (globalThis as unknown as { benchArgon2(n: number): Promise<{ hex: string; times: number[] }> }).benchArgon2(
        runs,
      ),
    RUNS,
  );
} finally {
  await bench.close();
}
if (result.hex !== nodeHex) throw new Error("Chromium and Node derived different keys");
const ms = median(result.times);
const browser: Sample = { msPerOp: ms, opsPerSec: 1000 / ms, iterations: RUNS };
printTable(`Argon2id, hash-wasm (ms per derivation, median of ${RUNS}, lower is better); Chromium ${bench.version}`, [
  {
    operation: "Argon2id 64 MiB t=3 p=1",
    implementation: "hash-wasm in Node (baseline)",
    figure: fmt.ms(node),
    ratio: "1.0×",
  },
  {
    operation: "Argon2id 64 MiB t=3 p=1",
    implementation: "hash-wasm in headless Chromium",
    figure: fmt.ms(browser),
    ratio: fmt.ratio(browser, node),
  },
]);
console.log(`Chromium runs: ${result.times.map((t) => t.toFixed(0)).join(", ")} ms`);
