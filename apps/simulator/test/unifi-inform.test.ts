import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cmdReply, rebootReply } from "@veil/devices";
import { startSimulator, type SimulatorHandle } from "../src/index";
import { startInformReceiver, waitFor, type InformReceiver } from "./helpers/inform-receiver";

describe("UniFi inform: 50 devices against a real receiver", () => {
  let rx: InformReceiver;
  let sim: SimulatorHandle;

  beforeAll(async () => {
    rx = await startInformReceiver(4);
    sim = await startSimulator({
      devices: 50,
      seed: 7,
      informUrl: rx.url,
      admin: false,
      discovery: "off",
      timeScale: 0.05,
      startSpreadMs: 4000,
      rebootMs: 4000,
      faultRate: 0,
      cipher: "mixed",
      compression: "mixed",
    });
  });
  afterAll(async () => {
    await sim.stop();
    await rx.close();
  });

  it("every device informs on the default key, is adopted by setparam, and keeps informing under its authkey", async () => {
    await waitFor(
      () => rx.devices.size === 50 && [...rx.devices.values()].every((d) => d.informsAuthkey >= 2),
      20_000,
      "50 adopted devices",
    );
    expect(rx.rejected).toBe(0);
    for (const d of sim.devices) {
      const rec = rx.devices.get(d.mac);
      expect(rec?.authkey).toBe(d.unifi.authkey);
      expect(rec?.informsDefault).toBe(1);
      expect(rec?.last?.model).toBe(d.spec.model);
    }
    const formats = new Set([...rx.devices.values()].flatMap((d) => [...d.formats]));
    expect([...formats].some((f) => f.startsWith("cbc"))).toBe(true);
    expect([...formats].some((f) => f.startsWith("gcm"))).toBe(true);
    expect([...formats].some((f) => f.endsWith("snappy"))).toBe(true);
    expect([...formats].some((f) => f.endsWith("zlib"))).toBe(true);
  });

  it("traffic counters grow between informs", async () => {
    const mac = sim.devices[3]?.mac ?? "";
    const rec = rx.devices.get(mac);
    const sum = (): number => (rec?.last?.if_table ?? []).reduce((n, i) => n + (i.rx_bytes ?? 0), 0);
    const before = sum();
    const count = rec?.informsAuthkey ?? 0;
    await waitFor(() => (rec?.informsAuthkey ?? 0) >= count + 2, 10_000, "two more informs");
    expect(sum()).toBeGreaterThan(before);
  });

  it("obeys reboot: goes quiet, comes back with a fresh uptime", async () => {
    const dev = sim.devices[0];
    const rec = dev ? rx.devices.get(dev.mac) : undefined;
    if (!dev || !rec) throw new Error("missing device");
    const uptimeBefore = rec.last?.uptime ?? 0;
    expect(uptimeBefore).toBeGreaterThan(60);
    rec.queue.push(rebootReply());
    await waitFor(() => rec.queue.length === 0, 10_000, "reboot delivered");
    await waitFor(() => (rec.last?.uptime ?? Infinity) < 60, 10_000, "informs after the reboot");
    expect(sim.stats().reboots).toBeGreaterThanOrEqual(1);
  });

  it("runs a cmd and reports its output in a later inform", async () => {
    const dev = sim.devices[1];
    const rec = dev ? rx.devices.get(dev.mac) : undefined;
    if (!dev || !rec) throw new Error("missing device");
    rec.queue.push(cmdReply("cmd-1", "uname -a"));
    await waitFor(() => (rec.last?.cmd_results ?? []).some((r) => r._id === "cmd-1"), 10_000, "cmd result");
    expect(rec.last?.cmd_results?.[0]?.output).toContain(dev.spec.model);
  });
});
