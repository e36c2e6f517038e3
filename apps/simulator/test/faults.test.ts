import { describe, expect, it } from "vitest";
import { SimContext } from "../src/context";
import { injectFault } from "../src/faults";
import { buildFleet } from "../src/fleet";
import { ZSimulatorOptionsSchema } from "../src/options";
import { startSimulator } from "../src/index";
import { startInformReceiver, waitFor } from "./helpers/inform-receiver";

const T0 = 1_700_000_000_000;

describe("faults", () => {
  it("at rate 0 nothing happens; at rate 1 every cycle is an outage or a reboot, reproducibly", () => {
    const run = (rate: number): string[] => {
      const ctx = new SimContext(
        () => T0,
        1,
        30_000,
        rate,
        () => undefined,
      );
      return buildFleet(ZSimulatorOptionsSchema.parse({ devices: 50, seed: 4 }), T0).map((d) => {
        const hit = injectFault(ctx, d, T0, 10_000);
        return `${hit}:${d.offlineUntil - T0}:${d.uptime(T0 + 60_000)}`;
      });
    };
    expect(run(0).every((r) => r.startsWith("false:"))).toBe(true);
    const hits = run(1);
    expect(hits.every((r) => r.startsWith("true:"))).toBe(true);
    expect(hits).toEqual(run(1));
    expect(hits.some((r) => r.endsWith(":30"))).toBe(true); // rebooted 30 s before T0 + 60 s
    expect(hits.some((r) => /^true:\d+:\d{3,}$/.test(r) && !r.startsWith("true:30000:"))).toBe(true); // outage, uptime kept
  });

  it("devices with a high fault rate drop out and come back while the others keep informing", async () => {
    const rx = await startInformReceiver(4);
    const sim = await startSimulator({
      devices: 10,
      seed: 2,
      informUrl: rx.url,
      admin: false,
      discovery: "off",
      timeScale: 0.02,
      startSpreadMs: 1000,
      rebootMs: 2000,
      faultRate: 0.3,
    });
    try {
      await waitFor(
        () => sim.stats().faults >= 5 && [...rx.devices.values()].filter((d) => d.informsAuthkey >= 3).length >= 8,
        15_000,
        "faults and recoveries",
      );
      expect(sim.stats().reboots).toBeGreaterThan(0);
      expect(rx.rejected).toBe(0);
    } finally {
      await sim.stop();
      await rx.close();
    }
  });
});
