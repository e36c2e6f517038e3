// Optional profile (VEIL_BENCH_PROFILE=1): V8 CPU profiles of this process during the last Veil
// figure and of the companion over its life, self time grouped by where the code lives.
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Session as Inspector } from "node:inspector/promises";
import path from "node:path";
import { spawnBundledCompanion } from "./companion-bundle";

export const PROFILE = process.env.VEIL_BENCH_PROFILE === "1";

export interface CpuProfile {
  nodes: { id: number; hitCount?: number; callFrame: { url: string; functionName: string } }[];
  startTime?: number;
  endTime?: number;
  samples?: number[];
}

function bucket(url: string, fn: string): string {
  if (fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)" || fn === "(root)") return fn;
  if (/packages\/crypto|@noble/.test(url)) return "crypto (@veil/crypto, @noble)";
  if (/hash-wasm|argon2/.test(url)) return "Argon2id (start-up)";
  if (/\/zod\//.test(url)) return "zod";
  if (/packages\/protocol/.test(url)) return "@veil/protocol";
  if (/apps\/console\/src/.test(url)) return "console (apps/console/src)";
  if (/apps\/companion\/src/.test(url)) return "companion (apps/companion/src)";
  if (/bench\//.test(url)) return "bench (browser end, pacing)";
  if (/socket\.io|engine\.io|\/ws\/|@socket\.io/.test(url)) return "socket.io / engine.io / ws";
  if (url.startsWith("node:") || url === "") return "Node internals (TLS, streams, timers, native)";
  return "other";
}

export function summarize(title: string, profile: CpuProfile): void {
  const by = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const key = bucket(n.callFrame.url, n.callFrame.functionName);
    by.set(key, (by.get(key) ?? 0) + hits);
  }
  const busy = total - (by.get("(idle)") ?? 0);
  const share = (v: number): string => `${((v * 100) / Math.max(1, busy)).toFixed(1).padStart(5)} %`;
  console.log(`\n${title} (self time, share of non-idle samples)`);
  for (const [k, v] of [...by].filter(([k]) => k !== "(idle)").sort((x, y) => y[1] - x[1]))
    console.log(`  ${share(v)}  ${k}`);
  // The hottest functions, by self time.
  const fns = new Map<string, number>();
  for (const n of profile.nodes) {
    const { functionName, url } = n.callFrame;
    if (functionName === "(idle)" || !n.hitCount) continue;
    const key = `${functionName || "(anonymous)"}  ${url.replace(/^.*\/(node_modules|apps|packages|bench)\//, "$1/")}`;
    fns.set(key, (fns.get(key) ?? 0) + n.hitCount);
  }
  console.log("  hottest functions:");
  for (const [k, v] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`    ${share(v)}  ${k}`);
}

/** Summarizes each companion profile written into `dir` (the companion must have exited). */
export function summarizeCompanionProfiles(dir: string): void {
  for (const file of readdirSync(dir))
    summarize(
      `profile: companion process ${file} (whole life, start-up included)`,
      JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile,
    );
}

/** The companion (its bundle, as installed) under node --cpu-prof (not allowed in NODE_OPTIONS). */
export function spawnProfiledCompanion(stateDir: string, dir: string): ChildProcess & { output: () => string } {
  return spawnBundledCompanion("run", stateDir, {}, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
}

/**
 * In a forked relay process (the console, the bare relay): `{kind: "profile-start"}` starts a V8
 * CPU profile of this process at a 100-µs interval, `{kind: "profile-stop"}` answers
 * `{kind: "profile", profile}`. Only when PROFILE is set (the child inherits the environment).
 */
export function answerProfileRequests(): void {
  if (!PROFILE) return;
  let inspector: Inspector | undefined;
  process.on("message", (m: { kind?: string }) => {
    void (async () => {
      if (m.kind === "profile-start") {
        inspector = new Inspector();
        inspector.connect();
        await inspector.post("Profiler.enable");
        await inspector.post("Profiler.setSamplingInterval", { interval: 100 });
        await inspector.post("Profiler.start");
      } else if (m.kind === "profile-stop") {
        const profile = await stopSelfProfile(inspector);
        inspector = undefined;
        process.send?.({ kind: "profile", profile });
      }
    })();
  });
}

/** Self time in µs per round trip, by bucket and by function, of a profile over `roundTrips`. */
export function perRoundTrip(
  profile: CpuProfile,
  roundTrips: number,
): { buckets: Map<string, number>; fns: Map<string, number> } {
  const buckets = new Map<string, number>();
  const fns = new Map<string, number>();
  const us = (hits: number): number => (hits * sampleMicros(profile)) / roundTrips;
  for (const n of profile.nodes) {
    const { functionName, url } = n.callFrame;
    if (functionName === "(idle)" || !n.hitCount) continue;
    const b = bucket(url, functionName);
    buckets.set(b, (buckets.get(b) ?? 0) + us(n.hitCount));
    const key = `${functionName || "(anonymous)"}  ${url.replace(/^.*\/(node_modules|apps|packages|bench)\//, "$1/")}`;
    fns.set(key, (fns.get(key) ?? 0) + us(n.hitCount));
  }
  return { buckets, fns };
}

/** The mean time between a profile's samples, µs. */
function sampleMicros(profile: CpuProfile): number {
  const n = profile.samples?.length ?? 0;
  return n > 1 && profile.startTime !== undefined && profile.endTime !== undefined
    ? (profile.endTime - profile.startTime) / n
    : 100;
}

/** Two relays' self time per round trip side by side (µs), by bucket, then the functions that differ most. */
export function compareRelays(bare: ReturnType<typeof perRoundTrip>, veil: ReturnType<typeof perRoundTrip>): void {
  const rows = (a: Map<string, number>, b: Map<string, number>) =>
    [...new Set([...a.keys(), ...b.keys()])].map((k) => [k, a.get(k) ?? 0, b.get(k) ?? 0] as const);
  const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);
  console.log(`\nprofile: the relays, one request at a time (self µs per round trip: bare, Veil)`);
  console.log(
    "  (a native frame such as writev also collects the samples taken while the thread waits: read the JS rows)",
  );
  console.log(`  ${total(bare.buckets).toFixed(1).padStart(6)} ${total(veil.buckets).toFixed(1).padStart(6)}  all`);
  for (const [k, x, y] of rows(bare.buckets, veil.buckets).sort((p, q) => q[2] - p[2]))
    console.log(`  ${x.toFixed(1).padStart(6)} ${y.toFixed(1).padStart(6)}  ${k}`);
  console.log("  functions by Veil − bare:");
  for (const [k, x, y] of rows(bare.fns, veil.fns)
    .sort((p, q) => Math.abs(q[2] - q[1]) - Math.abs(p[2] - p[1]))
    .slice(0, 40))
    console.log(`  ${x.toFixed(1).padStart(6)} ${y.toFixed(1).padStart(6)}  ${k}`);
}

/** Starts profiling this process when PROFILE is set. */
export async function startSelfProfile(): Promise<Inspector | undefined> {
  const inspector = PROFILE ? new Inspector() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.start");
  }
  return inspector;
}

export async function stopSelfProfile(inspector: Inspector | undefined): Promise<CpuProfile | undefined> {
  const here = inspector ? ((await inspector.post("Profiler.stop")) as { profile: CpuProfile }).profile : undefined;
  inspector?.disconnect();
  return here;
}
