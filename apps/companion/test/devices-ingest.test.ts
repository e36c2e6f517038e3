import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { authkeyToKey, encodeInformJson, generateAuthkey, INFORM_DEFAULT_KEY } from "@veil/devices";
import { startDeviceService, type DeviceService } from "../src/devices/device-service";
import { silentLogger } from "../src/log";

describe("UniFi ingest never throws and never accepts what it should not", () => {
  let dir: string;
  let service: DeviceService;
  const mac = "02:97:00:00:00:01";
  const good = (): Uint8Array =>
    encodeInformJson(
      { mac, ip: "10.0.0.5", model: "U7PG2", version: "6.6.55", hostname: "fz", uptime: 5, if_table: [] },
      { mac, key: INFORM_DEFAULT_KEY },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "veil-devingest-"));
    service = await startDeviceService({
      stateDir: dir,
      logger: silentLogger,
      bindHost: "127.0.0.1",
      informPort: 0,
      channelPort: 0,
      limits: { perDevice: { ratePerSec: 1e6, burst: 1e6 } },
    });
  });
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("random bytes are dropped and counted", () => {
    const counted = service.ctx.counters.sum("unifi.");
    let calls = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        calls += 1;
        const out = service.ingest.handle(bytes);
        expect(out.kind).toBe("drop");
      }),
      { numRuns: 500 },
    );
    // Each drop is counted once, under its reason, and none as an ingest failure (which is logged).
    expect(service.ctx.counters.sum("unifi.") - counted).toBe(calls);
    expect(service.ctx.counters.get("unifi.internal")).toBe(0);
  });

  it("an ingest failure that is not the packet's fault answers 500 and is counted and logged apart, once a minute", () => {
    const inventory = service.ctx.inventory;
    const packet = (n: number): Uint8Array =>
      encodeInformJson(
        {
          mac: "02:97:00:00:00:02",
          ip: "10.0.0.6",
          model: "U7PG2",
          version: "6.6.55",
          hostname: "x",
          uptime: n,
          if_table: [],
        },
        { mac: "02:97:00:00:00:02", key: INFORM_DEFAULT_KEY },
      );
    const errors = vi.spyOn(service.ctx.logger, "error");
    Object.defineProperty(inventory, "report", {
      configurable: true,
      value: () => {
        throw new Error("disk full");
      },
    });
    try {
      const malformed = service.ctx.counters.get("unifi.malformed");
      expect(service.ingest.handle(packet(1))).toEqual({ kind: "drop", status: 500 });
      expect(service.ingest.handle(packet(2))).toEqual({ kind: "drop", status: 500 });
      expect(service.ctx.counters.get("unifi.internal")).toBe(2);
      expect(service.ctx.counters.get("unifi.malformed")).toBe(malformed);
      expect(errors.mock.calls).toEqual([["inform ingest failed", { error: "Error: disk full" }]]);
    } finally {
      delete (inventory as unknown as Record<string, unknown>).report;
      errors.mockRestore();
    }
    // Restored, the same device is taken.
    expect(service.ingest.handle(packet(3)).kind).toBe("reply");
  });

  it("any single-byte change of an adopted device's GCM packet is refused; the intact packet is accepted once", () => {
    // Replay memory holds packets under a secret key only (default-key packets prove nothing).
    const adoptedMac = "02:97:00:00:00:03";
    const d = service.ctx.inventory.ensure(adoptedMac, "unifi", Date.now());
    d.adopted = true;
    d.authkey = generateAuthkey();
    const packet = encodeInformJson(
      { mac: adoptedMac, ip: "10.0.0.7", model: "U7PG2", version: "6.6.55", hostname: "fz", uptime: 5, if_table: [] },
      { mac: adoptedMac, key: authkeyToKey(d.authkey) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: packet.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const copy = packet.slice();
        copy[i] = (copy[i] ?? 0) ^ x;
        expect(service.ingest.handle(copy).kind).toBe("drop");
      }),
      { numRuns: 300 },
    );
    expect(service.ingest.handle(packet).kind).toBe("reply");
    expect(service.ingest.handle(packet).kind).toBe("drop");
    expect(service.ctx.counters.get("unifi.replayed")).toBe(1);
  });

  it("truncations and extensions are refused", () => {
    const packet = good();
    for (let n = 0; n < packet.length; n += 7) expect(service.ingest.handle(packet.subarray(0, n)).kind).toBe("drop");
    const longer = new Uint8Array(packet.length + 5);
    longer.set(packet);
    expect(service.ingest.handle(longer).kind).toBe("drop");
  });
});
