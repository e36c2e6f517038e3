import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeInformJson, INFORM_DEFAULT_KEY } from "@veil/devices";
import { type DeviceService } from "../src/devices/device-service";
import { LocalDeviceServices } from "./harness/local-device-services";

const macOf = (prefix: string, i: number): string =>
  `02:${prefix}:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
const inform = (mac: string, key = INFORM_DEFAULT_KEY): Uint8Array =>
  encodeInformJson(
    { mac, ip: "10.0.0.5", model: "U7PG2", version: "6.6.55", hostname: "x", uptime: 5, if_table: [] },
    {
      mac,
      key,
    },
  );

describe("pending (default-key) devices from one source cannot fill the inventory", () => {
  const services = new LocalDeviceServices();
  let service: DeviceService;
  let now = 1_800_000_000_000;

  beforeAll(async () => {
    service = await services.start({
      maxDevices: 40,
      now: () => now,
    });
  });
  afterAll(() => services.stopAll());

  it("one address adds at most 32 pending devices; a real new device elsewhere is still taken in", () => {
    const outcomes = Array.from({ length: 100 }, (_, i) => service.ingest.handle(inform(macOf("bb", i)), "10.2.0.1"));
    expect(outcomes.filter((o) => o.kind === "reply").length).toBe(32);
    expect(service.ctx.counters.get("unifi.pending_per_source")).toBe(68);
    expect(service.ctx.inventory.devices.size).toBe(32);
    expect(service.ingest.handle(inform("02:cc:00:00:00:01"), "10.2.0.2").kind).toBe("reply");
  });

  it("when the inventory is full, a packet that does not decrypt evicts nothing", () => {
    for (let i = 0; service.ctx.inventory.devices.size < 40; i++)
      expect(service.ingest.handle(inform(macOf("dd", i)), `10.3.0.${i}`).kind).toBe("reply");
    now += 11 * 60_000; // every pending device is now stale and evictable
    const before = [...service.ctx.inventory.devices.keys()];
    const wrongKey = new Uint8Array(16).fill(9);
    const out = service.ingest.handle(inform("02:ee:00:00:00:01", wrongKey), "10.4.0.1");
    expect(out).toEqual({ kind: "drop", status: 400 });
    expect([...service.ctx.inventory.devices.keys()]).toEqual(before);
    // A real new device gets the stale slot.
    expect(service.ingest.handle(inform("02:ee:00:00:00:02"), "10.4.0.2").kind).toBe("reply");
    expect(service.ctx.inventory.devices.size).toBe(40);
  });
});
