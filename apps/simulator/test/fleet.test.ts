import { describe, expect, it } from "vitest";
import { unifiInformToDeviceState } from "@veil/devices";
import { buildFleet } from "../src/fleet";
import { ZSimulatorOptionsSchema } from "../src/options";
import { Prng } from "../src/prng";
import { toDeviceState, toUbdpInfo, toUnifiInform } from "../src/reports";
import { runShell } from "../src/shell";
import { ZDeviceStateSchema, ZUnifiInformSchema } from "@veil/protocol";

const fleet = (seed: number, devices = 200) =>
  buildFleet(ZSimulatorOptionsSchema.parse({ devices, seed }), 1_700_000_000_000);
const summary = (seed: number) =>
  fleet(seed).map((d) => [d.mac, d.ip, d.spec.model, d.firmware, d.hostname, d.bootedAt, d.clients.length].join("|"));

describe("seeded fleet", () => {
  it("the same seed gives the same fleet; another seed another", () => {
    expect(summary(1)).toEqual(summary(1));
    expect(summary(1)).not.toEqual(summary(2));
  });

  it("counters evolve identically for the same seed and clock", () => {
    const run = () => {
      const [d] = fleet(5, 1);
      if (!d) throw new Error("no device");
      for (let t = 1; t <= 30; t++) d.tick(1_700_000_000_000 + t * 10_000);
      return JSON.stringify(toDeviceState(d, 1_700_000_300_000));
    };
    expect(run()).toBe(run());
  });

  it("mixes kinds, uses unique MACs and consecutive 127.x addresses", () => {
    const f = fleet(3, 1000);
    expect(new Set(f.map((d) => d.mac)).size).toBe(1000);
    expect(f[0]?.ip).toBe("127.0.0.2");
    expect(f[999]?.ip).toBe("127.0.3.233");
    const kinds = new Set(f.map((d) => d.spec.kind));
    expect(kinds).toEqual(new Set(["ap", "switch", "router"]));
    expect(f.every((d) => /^02:76:03:/.test(d.mac))).toBe(true);
  });

  it("reports validate against the protocol schemas", () => {
    for (const d of fleet(8, 60)) {
      d.tick(1_700_000_060_000);
      expect(ZUnifiInformSchema.safeParse(toUnifiInform(d, 1_700_000_060_000)).success).toBe(true);
      expect(ZDeviceStateSchema.safeParse(toDeviceState(d, 1_700_000_060_000)).success).toBe(true);
      expect(toUbdpInfo(d, 1_700_000_060_000, 1).mac).toBe(d.mac);
    }
  });

  it("the UniFi inform of a device normalises to the state it reports over Veil's channel", () => {
    for (const d of fleet(12, 30)) {
      const now = 1_700_000_090_000;
      d.tick(now);
      const viaUnifi = unifiInformToDeviceState(ZUnifiInformSchema.parse(toUnifiInform(d, now)));
      const direct = toDeviceState(d, now);
      expect(viaUnifi).toEqual({ ...direct, cpu: viaUnifi?.cpu });
      expect(viaUnifi?.cpu).toBe(d.cpu);
    }
  });

  it("mulberry32 is reproducible and roughly uniform", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 10_000 }, () => a.next());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });
});

describe("device shell", () => {
  const [d] = fleet(1, 1);
  if (!d) throw new Error("no device");
  it("answers help, uname, uptime, ifconfig and refuses unknown commands", () => {
    expect(runShell(d, "help", 0).output).toContain("ifconfig");
    expect(runShell(d, "uname -a", 0).output).toContain(d.spec.model);
    expect(runShell(d, "uptime", Date.now()).output).toMatch(/up \d+ days/);
    expect(runShell(d, "ifconfig", 0).output).toContain(d.interfaces[0]?.mac.toUpperCase());
    expect(runShell(d, "rm -rf /", 0)).toMatchObject({ ok: false, output: "-sh: rm: not found" });
    expect(runShell(d, "reboot", 0).reboot).toBe(true);
    expect(runShell(d, "exit", 0).exit).toBe(true);
  });

  it("set-adopt sets the inform URL and authkey, as the UniFi controller's SSH adoption does", () => {
    const key = "0123456789abcdef0123456789abcdef";
    expect(runShell(d, `/usr/bin/syswrapper.sh set-adopt http://10.0.0.1:8080/inform ${key}`, 0).ok).toBe(true);
    expect(d.unifi).toMatchObject({ informUrl: "http://10.0.0.1:8080/inform", authkey: key });
    expect(runShell(d, "syswrapper.sh set-adopt ftp://x nothex", 0).ok).toBe(false);
  });
});
