// Child process of bench/devices-ingest.ts: the real companion, started the way `veil-companion
// run` starts it (startCompanion with the enrolled state folder, the device side on, auto-adopt),
// so its CPU and memory are its own. Two settings differ from the defaults, both said in the
// report: the per-source and per-host limits are raised (requests, connections, sockets held,
// default-key payload, pending devices), because the simulator sends every device's informs
// from 127.0.0.1 over one keep-alive pool while a real site has one address per device; and the
// store's time-based compaction interval is the second argument (the default, 15 min, or 10 s so
// that each measured window includes a compaction of the whole inventory).
// Prints {"informPort":N} once the inform server listens.
import { useFastestPrimitives } from "@veil/crypto/node";
import { createJsonLogger } from "../../apps/companion/src/log";
import { startCompanion } from "../../apps/companion/src/run/start-companion";
import { StateStore } from "../../apps/companion/src/state/state-store";

const [stateDir = "", compactEveryMs = "900000"] = process.argv.slice(2);
await useFastestPrimitives();
const running = startCompanion({
  store: new StateStore(stateDir),
  logger: createJsonLogger({ level: "warn" }),
  devices: {
    bindHost: "127.0.0.1",
    informPort: 0,
    channelPort: 0,
    intervalSec: 10,
    autoAdopt: true,
    compactEveryMs: Number(compactEveryMs),
    limits: {
      perIp: { ratePerSec: 20_000, burst: 40_000 },
      connectionsPerIp: { ratePerSec: 2_000, burst: 4_000 },
      informConnectionsPerIp: { ratePerSec: 20_000, burst: 40_000 },
      informKiBPerIp: { ratePerSec: 1024 * 1024, burst: 1024 * 1024 },
      defaultKeyKiBPerIp: { ratePerSec: 1024 * 1024, burst: 1024 * 1024 },
    },
    maxPendingPerSource: 100_000,
    informServer: { maxConnectionsPerSource: 4096 },
  },
  snapshots: false,
});
const devices = await running.devices;
if (!devices) throw new Error("device side did not start");
process.stdout.write(`${JSON.stringify({ informPort: devices.informPort })}\n`);
// Where the memory is, every 5 s (the benchmark reports the last line before it stops this process).
setInterval(() => {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ memory: { rss, heapTotal, heapUsed, external, arrayBuffers } })}\n`);
}, 5_000).unref();
process.once("SIGTERM", () => running.stop());
await running.finished; // stops the device side too (store compacted and closed)
process.exit(0);
