// Child process of bench/devices-ingest.ts: the real companion, started the way `veil-companion
// run` starts it (startCompanion with the enrolled state folder, the device side on, auto-adopt),
// so its CPU and memory are its own. Two settings differ from the defaults, both said in the
// report: the per-IP flood limit is raised, because the simulator sends every device's informs
// from 127.0.0.1 over one keep-alive pool while a real site has one address per device; and the
// store compacts every 10 s, so each measured window includes a compaction of the whole
// inventory. Prints {"informPort":N} once the inform server listens.
import { useNativePrimitives } from "@veil/crypto/node";
import { createJsonLogger } from "../../apps/companion/src/log";
import { startCompanion } from "../../apps/companion/src/run/start-companion";
import { StateStore } from "../../apps/companion/src/state/state-store";

const [stateDir = ""] = process.argv.slice(2);
useNativePrimitives();
const running = startCompanion({
  store: new StateStore(stateDir),
  logger: createJsonLogger({ level: "warn" }),
  devices: {
    bindHost: "127.0.0.1",
    informPort: 0,
    channelPort: 0,
    intervalSec: 10,
    autoAdopt: true,
    compactEveryMs: 10_000,
    limits: {
      perIp: { ratePerSec: 20_000, burst: 40_000 },
      connectionsPerIp: { ratePerSec: 2_000, burst: 4_000 },
    },
  },
  snapshots: false,
});
const devices = await running.devices;
if (!devices) throw new Error("device side did not start");
process.stdout.write(`${JSON.stringify({ informPort: devices.informPort })}\n`);
process.once("SIGTERM", () => running.stop());
await running.finished; // stops the device side too (store compacted and closed)
process.exit(0);
