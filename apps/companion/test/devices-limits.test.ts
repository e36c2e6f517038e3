import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeInformJson, INFORM_DEFAULT_KEY } from "@veil/devices";
import { startDeviceService, type DeviceService } from "../src/devices/device-service";
import { KeyedTokenBuckets, sourceKey } from "../src/devices/token-bucket";
import { silentLogger } from "../src/log";
import { postInform } from "./harness/inform-post";

const packet = (i: number): Uint8Array => {
  const mac = `02:98:00:00:00:${i.toString(16).padStart(2, "0")}`;
  return encodeInformJson(
    { mac, ip: "10.0.0.5", model: "U7PG2", version: "6.6.55", hostname: `d${i}`, uptime: 5, if_table: [] },
    { mac, key: INFORM_DEFAULT_KEY },
  );
};

describe("token buckets", () => {
  it("refill at their rate, cap at their burst, and keep keys apart", () => {
    let now = 0;
    const b = new KeyedTokenBuckets({ ratePerSec: 2, burst: 3 }, () => now, 2);
    expect([b.take("a"), b.take("a"), b.take("a"), b.take("a")]).toEqual([true, true, true, false]);
    expect(b.take("b")).toBe(true);
    now = 500;
    expect([b.take("a"), b.take("a")]).toEqual([true, false]);
    now = 100_000;
    expect([b.take("a"), b.take("a"), b.take("a"), b.take("a")]).toEqual([true, true, true, false]);
    b.take("c"); // evicts the least recently used key
    expect(b.size).toBe(2);
  });
});

describe("source keys", () => {
  it("count an IPv6 host by its /64 (it holds all of it) and an IPv4-mapped address as IPv4", () => {
    expect(sourceKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(sourceKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(sourceKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(sourceKey("::ffff:192.168.1.7")).toBe("192.168.1.7");
    expect(sourceKey("::ffff:c0a8:107")).toBe("192.168.1.7");
    expect(sourceKey("192.168.1.7")).toBe("192.168.1.7");
    expect(sourceKey(undefined)).toBe("unknown");
  });

  it("charge into debt: a cost known only afterwards holds the key back until it refilled", () => {
    let now = 0;
    const b = new KeyedTokenBuckets({ ratePerSec: 10, burst: 10 }, () => now);
    b.charge("a", 25);
    expect(b.available("a")).toBe(false);
    now = 1000; // +10 → -0 (debt floored at -burst)
    expect(b.available("a")).toBe(false);
    now = 1200;
    expect(b.available("a")).toBe(true);
  });
});

describe("per-IP flood limit on the inform server", () => {
  let dir: string;
  let service: DeviceService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "veil-devlimits-"));
    service = await startDeviceService({
      stateDir: dir,
      logger: silentLogger,
      bindHost: "127.0.0.1",
      informPort: 0,
      channelPort: 0,
      limits: { perIp: { ratePerSec: 1, burst: 20 } },
    });
  });
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses one address beyond its budget (429, counted) while another address is served", async () => {
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 40; i++) statuses.push(await postInform(service.informPort, packet(i), "127.0.0.88"));
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(22);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(18);
    expect(service.ctx.counters.get("unifi.rate_limited_ip")).toBeGreaterThanOrEqual(18);
    expect(await postInform(service.informPort, packet(200), "127.0.0.89")).toBe(200);
    expect(service.ctx.inventory.devices.get("02:98:00:00:00:c8")?.status).toBe("pending");
  });

  it("caps the inventory: default-key floods of new MACs cannot grow it without bound", async () => {
    const full = service.ctx.inventory.devices.size;
    expect(full).toBeGreaterThan(0);
    Object.assign(service.ctx, { maxDevices: full });
    expect(await postInform(service.informPort, packet(250), "127.0.0.90")).toBe(429);
    expect(service.ctx.counters.get("unifi.inventory_full")).toBe(1);
    expect(service.ctx.inventory.devices.size).toBe(full);
  });
});
