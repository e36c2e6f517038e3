// The companion's request path, one ping at a time, warm (lib/responder-load.ts, bundled as the
// companion is and run with plain node): relay frame of a sealed ping in, relay frame of the
// sealed answer out, through the real Responder with the companion's primitives (base64url, Noise
// open, JSON, zod, the at-most-once record, the handler, the result check, Noise seal). Baseline in
// the same run: the AEAD alone, a Noise transport session opening a ping frame and sealing an
// answer of the same size; the difference is what the companion adds per request over its crypto.
//
// Run: pnpm --filter @veil/bench exec tsx responder.ts   (VEIL_BENCH_PINGS=<pings per round, ≤ 12,000>)
import { execFileSync } from "node:child_process";
import { bundleScript } from "./lib/companion-bundle";
import { header } from "./lib/measure";

header("companion request path (ping)");
const out = execFileSync(process.execPath, [bundleScript("responder-load.ts")], {
  env: { ...process.env, NODE_ENV: "production" },
  encoding: "utf8",
});
const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
  pings: number;
  veilUs: number;
  aeadUs: number;
  answerBytes: number;
};
console.log(
  `${r.pings.toLocaleString("en-US")} pings, answers of ${r.answerBytes} B of plaintext, three interleaved rounds`,
);
console.log(`  Responder, frame in to frame out   ${r.veilUs.toFixed(2)} µs per ping`);
console.log(`  baseline: Noise open + seal alone  ${r.aeadUs.toFixed(2)} µs per ping`);
console.log(
  `  ratio ${(r.veilUs / r.aeadUs).toFixed(2)}×: ${(r.veilUs - r.aeadUs).toFixed(2)} µs per ping over the AEAD`,
);
