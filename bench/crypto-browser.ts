/**
 * In headless Chromium: @noble (the portable path the console ships) and libsodium (what its E2E
 * channel puts in front for ChaCha20-Poly1305) against WebCrypto (the browser's native path),
 * each figure beside its WebCrypto baseline from the same page.
 *
 *   pnpm --filter @veil/bench exec tsx crypto-browser.ts
 */
import { fileURLToPath } from "node:url";
import type { BrowserRow } from "./browser/crypto-entry";
import { openBenchPage } from "./lib/chromium";
import { fmt, header, printTable, type Row, type Sample } from "./lib/measure";

header("@noble vs WebCrypto in Chromium");
const bench = await openBenchPage(fileURLToPath(new URL("./browser/crypto-entry.ts", import.meta.url)));
let results: BrowserRow[];
try {
  results = await bench.page.evaluate(() =>
    (globalThis as unknown as { benchCrypto(): Promise<BrowserRow[]> }).benchCrypto(),
  );
} finally {
  await bench.close();
}

const sample = (r: BrowserRow): Sample => ({ opsPerSec: r.opsPerSec, msPerOp: 1000 / r.opsPerSec, iterations: 0 });
const rows: Row[] = [];
let baseline: BrowserRow | undefined;
for (const r of results) {
  if (r.baseline) baseline = r;
  const s = sample(r);
  rows.push({
    operation: r.operation,
    implementation: r.implementation,
    figure: r.bytes > 0 ? fmt.mbps(s, r.bytes) : fmt.ops(s),
    ratio: r.baseline || !baseline ? "1.0×" : fmt.ratio(s, sample(baseline)),
  });
}
printTable(`In Chromium ${bench.version} (higher is better; ratio = slower than WebCrypto)`, rows);
