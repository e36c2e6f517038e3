// Child process of bench/discovery.ts and bench/vault-generate.ts: the device simulator
// (apps/simulator) in its own process, so its CPU is not the benchmark's. argv[2]: the options
// as JSON (SimulatorOptions). Prints one JSON line {ubdpPort, adminPort, devices: [{mac, ip}]}
// once listening; stops on SIGTERM.
import { startSimulator, ZSimulatorOptionsSchema } from "../../apps/simulator/src/index";

const options = ZSimulatorOptionsSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
const sim = await startSimulator(options);
process.stdout.write(
  JSON.stringify({
    ubdpPort: sim.discoveryPort,
    adminPort: sim.adminPort,
    devices: sim.devices.map((d) => ({ mac: d.mac, ip: d.ip })),
  }) + "\n",
);
process.on("SIGTERM", () => void sim.stop().then(() => process.exit(0)));
