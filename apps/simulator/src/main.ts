#!/usr/bin/env -S npx tsx
/**
 * CLI: `tsx src/main.ts --devices 50 --seed 1 --inform-url http://127.0.0.1:8080/inform`
 * or `--site-key veilsite1_…`. Prints ports and a stats line every 10 s; Ctrl-C stops cleanly.
 */
import { parseArgs } from "node:util";
import { startSimulator } from "./simulator";
import { ZSimulatorOptionsSchema } from "./options";

const USAGE = `usage: veil-simulator --devices N [--seed S] [--inform-url URL | --site-key veilsite1_…]
  [--discovery auto|off|per-device|shared] [--discovery-port 10001] [--admin-port 8443] [--no-admin]
  [--first-address 127.0.0.2] [--fault-rate 0.001] [--time-scale 1] [--cipher gcm|cbc|mixed]
  [--compression zlib|snappy|none|mixed] [--username ubnt] [--password ubnt]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: "string" },
      seed: { type: "string" },
      "inform-url": { type: "string" },
      "site-key": { type: "string" },
      discovery: { type: "string" },
      "discovery-port": { type: "string" },
      "admin-port": { type: "string" },
      "no-admin": { type: "boolean" },
      "first-address": { type: "string" },
      "fault-rate": { type: "string" },
      "time-scale": { type: "string" },
      cipher: { type: "string" },
      compression: { type: "string" },
      username: { type: "string" },
      password: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help || values.devices === undefined) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const raw = {
    devices: num(values.devices),
    seed: num(values.seed),
    informUrl: values["inform-url"],
    siteKey: values["site-key"],
    discovery: values.discovery,
    discoveryPort: num(values["discovery-port"]),
    adminPort: num(values["admin-port"]),
    admin: values["no-admin"] ? false : undefined,
    firstAddress: values["first-address"],
    faultRate: num(values["fault-rate"]),
    timeScale: num(values["time-scale"]),
    cipher: values.cipher,
    compression: values.compression,
    username: values.username,
    password: values.password,
  };
  const parsed = ZSimulatorOptionsSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
  );
  if (!parsed.success) {
    console.error(
      `invalid options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}\n${USAGE}`,
    );
    process.exitCode = 2;
    return;
  }
  const sim = await startSimulator({ ...parsed.data, log: (l) => console.error(l) });
  console.log(
    `veil-simulator: ${sim.devices.length} devices (seed ${parsed.data.seed}); HTTPS admin port ${sim.adminPort || "off"}; UBDP port ${sim.discoveryPort || "off"} (${sim.discoverySockets} sockets)`,
  );
  const timer = setInterval(() => console.log(JSON.stringify(sim.stats())), 10_000);
  const shutdown = (): void => {
    clearInterval(timer);
    void sim.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

void main();
