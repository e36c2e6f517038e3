// Bundled by esbuild into the page that argon2-browser.ts opens in Chromium.
import { hashWasmArgon2id } from "../lib/argon2-params";

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs `runs` derivations after one warm-up; returns the hash and each run's milliseconds. */
async function benchArgon2(runs: number): Promise<{ hex: string; times: number[] }> {
  const hex = toHex(await hashWasmArgon2id());
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await hashWasmArgon2id();
    times.push(performance.now() - start);
  }
  return { hex, times };
}

(globalThis as unknown as { benchArgon2: typeof benchArgon2 }).benchArgon2 = benchArgon2;
