/**
 * Memory and CPU of the simulator at scale (not a test; run by hand):
 *   tsx scripts/measure-scale.ts [--veil] [--warmup seconds] [devices…]   default: 1000 10000, 20 s
 * For each size: start a sink in a child process (a UniFi inform receiver, or with --veil a
 * WSS device-channel endpoint), start the simulator with every device informing every 10 s
 * (real time, first informs spread over 10 s), let it warm up, measure 20 s, and report RSS, heap, the
 * simulator process's CPU share over the last 20 s, and inform rates.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../src/simulator";

const veil = process.argv.includes("--veil");
const warmIndex = process.argv.indexOf("--warmup");
const warmupMs = warmIndex > 0 ? Number(process.argv[warmIndex + 1]) * 1000 : 20_000;
const sizes = process.argv
  .slice(2)
  .filter((a, i, all) => all[i - 1] !== "--warmup")
  .map(Number)
  .filter((n) => n > 0);
const MiB = (n: number): string => (n / 1048576).toFixed(0);

async function measure(devices: number): Promise<Record<string, unknown>> {
  const script = veil ? "./channel-sink.ts" : "./inform-sink.ts";
  const sink = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const hello = await new Promise<{ port?: number; siteKey?: string }>((resolve) =>
    sink.stdout?.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()) as { port?: number; siteKey?: string })),
  );
  const target = veil ? { siteKey: hello.siteKey } : { informUrl: `http://127.0.0.1:${hello.port ?? 0}/inform` };
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const sim = await startSimulator({ devices, seed: 1, ...target, adminPort: 0, discoveryPort: 0, faultRate: 0.001 });
  const startMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, warmupMs));
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  const s0 = veil ? sim.stats().channelFramesSent : sim.stats().informsSent;
  await new Promise((r) => setTimeout(r, 20_000));
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - w0;
  const s1 = sim.stats();
  const mem = process.memoryUsage();
  const sinkCounts = await new Promise<Record<string, number>>((resolve) => {
    sink.once("message", (m) => resolve(m as Record<string, number>));
    sink.send("stats");
  });
  await sim.stop();
  sink.kill();
  return {
    dialect: veil ? "veil" : "unifi",
    devices,
    startMs,
    rssMiB: MiB(mem.rss),
    rssGrowthMiB: MiB(mem.rss - rss0),
    heapUsedMiB: MiB(mem.heapUsed),
    cpuShareOfOneCore: ((cpu.user + cpu.system) / 1000 / wall).toFixed(3),
    informsPerSec: (((veil ? s1.channelFramesSent - s0 : s1.informsSent - s0) * 1000) / wall).toFixed(0),
    errors: veil ? s1.channelErrors : s1.informErrors,
    sink: sinkCounts,
    discoverySockets: sim.discoverySockets,
    simStats: s1,
  };
}

for (const n of sizes.length ? sizes : [1000, 10_000]) console.log(JSON.stringify(await measure(n)));
