/**
 * Memory and CPU of the simulator at scale (not a test; run by hand):
 *   tsx scripts/measure-scale.ts [devices…]        default: 1000 10000
 * For each size: start a UniFi inform sink in a child process, start the simulator with every
 * device informing every 10 s (real time, first informs spread over 10 s), let it run 40 s,
 * and report RSS, heap, the simulator process's CPU share over the last 20 s, and inform rates.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../src/simulator";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const MiB = (n: number): string => (n / 1048576).toFixed(0);

async function measure(devices: number): Promise<Record<string, unknown>> {
  const sink = fork(fileURLToPath(new URL("./inform-sink.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "pipe", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve) => sink.stdout?.once("data", (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)));
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const sim = await startSimulator({ devices, seed: 1, informUrl: `http://127.0.0.1:${port}/inform`, adminPort: 0, discoveryPort: 0, faultRate: 0.001 });
  const startMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 20_000));
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  const s0 = sim.stats().informsSent;
  await new Promise((r) => setTimeout(r, 20_000));
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - w0;
  const s1 = sim.stats();
  const mem = process.memoryUsage();
  const sinkCounts = await new Promise<{ ok: number; bad: number }>((resolve) => {
    sink.once("message", (m) => resolve(m as { ok: number; bad: number }));
    sink.send("stats");
  });
  await sim.stop();
  sink.kill();
  return {
    devices,
    startMs,
    rssMiB: MiB(mem.rss),
    rssGrowthMiB: MiB(mem.rss - rss0),
    heapUsedMiB: MiB(mem.heapUsed),
    cpuShareOfOneCore: ((cpu.user + cpu.system) / 1000 / wall).toFixed(3),
    informsPerSec: (((s1.informsSent - s0) * 1000) / wall).toFixed(0),
    informErrors: s1.informErrors,
    sinkAccepted: sinkCounts.ok,
    sinkRejected: sinkCounts.bad,
    discoverySockets: sim.discoverySockets,
  };
}

for (const n of sizes.length ? sizes : [1000, 10_000]) console.log(JSON.stringify(await measure(n)));
