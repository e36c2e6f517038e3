/**
 * Child process of discovery-netns.test.ts, run inside the device namespace: the simulator's
 * UBDP responder (shared mode on 0.0.0.0:10001, so it hears broadcasts) for one device at the
 * address given as argv[2]. Prints one JSON line when ready; stops when stdin closes.
 */
import { startSimulator } from "../../../simulator/src/index";

const address = process.argv[2] ?? "";
const sim = await startSimulator({
  devices: 1,
  seed: 77,
  firstAddress: address,
  discovery: "shared",
  discoveryHost: "0.0.0.0",
  discoveryPort: 10001,
  admin: false,
  faultRate: 0,
  startSpreadMs: 0,
});
process.stdout.write(JSON.stringify({ ready: true, mac: sim.devices[0]?.mac, port: sim.discoveryPort }) + "\n");
process.stdin.resume();
process.stdin.on("end", () => void sim.stop().then(() => process.exit(0)));
