// Child process of bench/devices-ingest.ts: the device simulator (apps/simulator) with N devices
// informing `informUrl` in the UniFi dialect every 10 s over a shared keep-alive pool, no faults,
// first informs spread over 10 s.
// Prints one JSON line of counters per second; stops on SIGTERM.
import { startSimulator } from "../../apps/simulator/src/index";

const [devicesText = "1000", informUrl = "", seedText = "7"] = process.argv.slice(2);
const sim = await startSimulator({
  devices: Number(devicesText),
  informUrl,
  seed: Number(seedText),
  admin: false,
  discovery: "off",
  faultRate: 0,
  startSpreadMs: 10_000,
  cipher: "gcm",
  compression: "zlib",
  // One shared keep-alive pool, not a connection per device per inform: with a connection each,
  // the simulator and the companion together do not fit 10,000 devices on two cores (at 5,000
  // the bare inform server alone needed 0.57 core; docs/PERFORMANCE.md).
  ownSourceAddress: false,
});
const report = (): void => {
  const s = sim.stats();
  process.stdout.write(`${JSON.stringify({ informsSent: s.informsSent, informErrors: s.informErrors })}\n`);
};
const timer = setInterval(report, 1000);
process.stdout.write(`${JSON.stringify({ ready: true, macs: sim.devices.map((d) => d.mac) })}\n`);
process.once("SIGTERM", () => {
  clearInterval(timer);
  void sim.stop().then(() => process.exit(0));
});
