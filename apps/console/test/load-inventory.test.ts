import { describe, expect, it } from "vitest";
import type { TDeviceSummary, TDevicesListResult } from "@veil/protocol";
import { CONCURRENCY, loadInventory, MAX_ROWS } from "../src/client/devices/load-inventory";
import type { InstanceChannel } from "../src/client/instances/e2e-channel";

/*
 * The companion cuts a `devices.list` page at a byte budget (devices name themselves, so a page
 * of 100 rows may not fit one E2E message): a page may hold fewer rows than asked. The loader
 * must still fetch every row exactly once, with at most CONCURRENCY pages in flight.
 */

const row = (i: number): TDeviceSummary => ({
  mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`,
  dialect: "unifi",
  status: "pending",
  name: `d${i}`,
  hostname: `d${i}`,
  kind: "ap",
  model: "U7PG2",
  modelDisplay: "UAP-AC-Pro",
  firmware: "6.6.55",
  ip: "10.0.0.5",
  firstSeen: 1,
  lastSeen: 1,
  intervalSec: 10,
  uptime: 1,
  cpu: 0,
  memoryPct: 0,
  clients: 0,
  locating: false,
});

/**
 * A companion holding `rows` (already in MAC order) that claims `total` of them and answers at
 * most `fit(offset)` rows per page; it records every row it sent and the most pages in flight.
 */
function fakeCompanion(rows: TDeviceSummary[], fit: (offset: number) => number, total = rows.length) {
  const sent = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const request = async (type: string, body: { offset: number; limit: number; sort: string; order: string }) => {
    expect(type).toBe("devices.list");
    expect(body).toMatchObject({ sort: "mac", order: "asc" });
    requests += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, (body.offset * 7) % 5));
    inFlight -= 1;
    const devices = rows.slice(body.offset, body.offset + Math.min(body.limit, fit(body.offset)));
    for (const d of devices) sent.set(d.mac, (sent.get(d.mac) ?? 0) + 1);
    const page: TDevicesListResult = {
      total,
      offset: body.offset,
      devices,
      counts: { online: 0, offline: 0, pending: total },
    };
    return page;
  };
  return {
    channel: { request } as unknown as Pick<InstanceChannel, "request">,
    sent,
    stats: () => ({ maxInFlight, requests }),
  };
}

describe("loadInventory with pages shorter than asked", () => {
  it("fetches every row exactly once when pages come back short (rows of any size)", async () => {
    const rows = Array.from({ length: 2_345 }, (_, i) => row(i));
    // Between 1 and 100 rows per page, varying with the offset as a byte budget would.
    const fake = fakeCompanion(rows, (offset) => 1 + ((offset * 37) % 100));
    const loaded = await loadInventory(fake.channel);
    expect(loaded.devices.size).toBe(rows.length);
    expect([...loaded.devices.keys()].sort()).toEqual(rows.map((r) => r.mac));
    expect(fake.sent.size).toBe(rows.length);
    expect([...fake.sent.values()].every((n) => n === 1)).toBe(true);
    expect(fake.stats().maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
    expect(fake.stats().maxInFlight).toBeGreaterThan(1);
    expect(loaded).toMatchObject({ total: rows.length, truncated: false });
  });

  it("fetches every row once when every page holds 25 rows (long device names)", async () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => row(i));
    const fake = fakeCompanion(rows, () => 25);
    const loaded = await loadInventory(fake.channel);
    expect(loaded.devices.size).toBe(rows.length);
    expect([...fake.sent.values()].every((n) => n === 1)).toBe(true);
    expect(fake.stats().requests).toBe(40);
    expect(fake.stats().maxInFlight).toBeLessThanOrEqual(CONCURRENCY);
  });

  it("ends when a page comes back empty before the total (devices went away meanwhile)", async () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(i));
    const fake = fakeCompanion(rows, (offset) => 1 + (offset % 60), 1_000);
    const loaded = await loadInventory(fake.channel);
    expect(loaded.devices.size).toBe(300);
    expect([...fake.sent.values()].every((n) => n === 1)).toBe(true);
    expect(fake.stats().requests).toBeLessThan(100);
  });

  it("asks for no row past MAX_ROWS", async () => {
    const rows = Array.from({ length: MAX_ROWS + 150 }, (_, i) => row(i));
    const fake = fakeCompanion(rows, (offset) => 60 + (offset % 41));
    const loaded = await loadInventory(fake.channel);
    expect(loaded).toMatchObject({ total: MAX_ROWS + 150, truncated: true });
    expect(loaded.devices.size).toBe(MAX_ROWS);
    expect(fake.sent.size).toBe(MAX_ROWS);
  });
});
