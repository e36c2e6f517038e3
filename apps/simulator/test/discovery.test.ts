import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUbdpReply, UBDP_PROBE_V1, UBDP_PROBE_V2, type UbdpReply } from "@veil/devices";
import { startSimulator, type SimulatorHandle } from "../src/index";

/** Sends one probe and collects replies for `ms`. */
async function probe(
  host: string,
  port: number,
  packet: Uint8Array,
  ms = 300,
): Promise<{ from: string; reply: UbdpReply }[]> {
  const s = dgram.createSocket("udp4");
  const out: { from: string; reply: UbdpReply }[] = [];
  s.on("message", (m, r) => out.push({ from: r.address, reply: parseUbdpReply(new Uint8Array(m)) }));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  s.send(packet, port, host);
  await new Promise((r) => setTimeout(r, ms));
  s.close();
  return out;
}

describe("UBDP discovery of simulated devices on 127.0.0.x", () => {
  let sim: SimulatorHandle;
  let shared: SimulatorHandle;

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 5,
      seed: 3,
      admin: false,
      discovery: "per-device",
      discoveryPort: 0,
      firstAddress: "127.0.0.10",
      faultRate: 0,
    });
    shared = await startSimulator({
      devices: 20,
      seed: 4,
      admin: false,
      discovery: "shared",
      discoveryPort: 0,
      firstAddress: "127.0.1.10",
      faultRate: 0,
    });
  });
  afterAll(async () => {
    await sim.stop();
    await shared.stop();
  });

  it("per-device: one socket per device, a unicast v1 probe answered from the device's own address", async () => {
    expect(sim.discoverySockets).toBe(5);
    const dev = sim.devices[2];
    if (!dev) throw new Error("no device");
    const replies = await probe(dev.ip, sim.discoveryPort, UBDP_PROBE_V1);
    expect(replies).toHaveLength(1);
    const [r] = replies;
    expect(r?.from).toBe(dev.ip);
    expect(r?.reply.version).toBe(1);
    expect(r?.reply.info).toMatchObject({
      mac: dev.mac,
      addresses: [{ mac: dev.mac, ip: dev.ip }],
      platform: dev.spec.model,
      firmware: dev.firmware,
      hostname: dev.hostname,
      isDefault: true,
    });
  });

  it("answers v2 probes with a v2 response (command 0x09) and ignores anything else", async () => {
    const dev = sim.devices[0];
    if (!dev) throw new Error("no device");
    const [r] = await probe(dev.ip, sim.discoveryPort, UBDP_PROBE_V2);
    expect(r?.reply.version).toBe(2);
    expect(r?.reply.command).toBe(9);
    expect(await probe(dev.ip, sim.discoveryPort, Uint8Array.of(1, 0, 0, 1), 150)).toHaveLength(0);
  });

  it("an offline device does not answer", async () => {
    const dev = sim.devices[4];
    if (!dev) throw new Error("no device");
    dev.offlineUntil = Date.now() + 60_000;
    expect(await probe(dev.ip, sim.discoveryPort, UBDP_PROBE_V1, 150)).toHaveLength(0);
    dev.offlineUntil = 0;
  });

  it("shared: one socket answers for every device, each reply naming the device's own address", async () => {
    expect(shared.discoverySockets).toBe(1);
    const replies = await probe("127.0.0.1", shared.discoveryPort, UBDP_PROBE_V1);
    expect(replies).toHaveLength(20);
    expect(new Set(replies.map((r) => r.reply.info.addresses?.[0]?.ip))).toEqual(
      new Set(shared.devices.map((d) => d.ip)),
    );
  });
});
