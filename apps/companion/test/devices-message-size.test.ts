import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeInformJson, INFORM_DEFAULT_KEY } from "@veil/devices";
import { addToMinute, openMinuteSample } from "../src/devices/aggregate-device-minute";
import { createDeviceRequestHandlers } from "../src/devices/device-request-handlers";
import { startDeviceService, type DeviceService } from "../src/devices/device-service";
import { DeviceHistory } from "../src/devices/history";
import type { DeviceEntry } from "../src/devices/inventory-types";
import { dispatchRequest, type DispatchContext } from "../src/e2e/dispatch-request";
import { ReplayCache } from "../src/e2e/replay-cache";
import { silentLogger } from "../src/log";
import {
  MAX_E2E_MESSAGE_BYTES,
  ZDevicesChangedSchema,
  type TDeviceDetail,
  type TDeviceState,
  type TDevicesChanged,
  type TDevicesListResult,
  type TE2EResponse,
} from "../src/protocol";
import { dispatchContext, testRequest } from "./harness/dispatch";

/*
 * A host on the site LAN informs under the public UniFi default key for made-up MACs, with every
 * text field at its length cap and full of characters that cost most in JSON: a control
 * character is 6 bytes (\u0001), "€" 3. Each pending device's row is then ~2 KB, so 100 rows
 * would be ~200 KB. Every answer and event the companion makes from them must still fit one
 * E2E message, and nothing may be lost: the rest comes in the next page or event.
 */

const CTRL = "\u0001";
const EURO = "€";
const ATTACKERS = 60;
const macOf = (i: number): string => `02:66:00:00:00:${i.toString(16).padStart(2, "0")}`;
const BIG = "02:66:00:00:01:00";
const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

function inform(mac: string, c: string, uptime: number, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeInformJson(
    {
      mac,
      ip: "10.0.0.5",
      model: c.repeat(32),
      model_display: c.repeat(64),
      version: c.repeat(64),
      hostname: c.repeat(64),
      uptime,
      if_table: [],
      ...extra,
    },
    { mac, key: INFORM_DEFAULT_KEY },
  );
}

/** The UTF-8 size of an event as the responder seals it. */
const eventBytes = (body: unknown): number =>
  bytes(JSON.stringify({ kind: "event", subscriptionId: randomUUID(), seq: 1_000_000, type: "devices.changed", body }));

describe("a LAN host cannot make a device answer exceed the E2E message limit", () => {
  let dir: string;
  let service: DeviceService;
  const produces: (() => unknown)[] = [];
  let ctx: DispatchContext;

  /** Dispatches one request the way the responder does; the answer and the exact text it seals. */
  const request = async (type: string, body: unknown): Promise<{ response: TE2EResponse; json: string }> => {
    const out: { response: TE2EResponse; json: string }[] = [];
    await dispatchRequest(testRequest(type, randomUUID(), body), ctx, (response, json) => out.push({ response, json }));
    const [first] = out;
    if (first === undefined) throw new Error("no answer");
    return first;
  };
  const result = <T>(r: { response: TE2EResponse }): T => {
    if (r.response.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(r.response)}`);
    return r.response.body as T;
  };
  let sources = 0;
  const ingest = (packet: Uint8Array): void => {
    // One source per packet: the per-source caps on pending devices are not what this tests.
    sources += 1;
    expect(service.ingest.handle(packet, `10.9.${sources >> 8}.${sources & 255}`).kind).toBe("reply");
  };
  /** Runs a watch's ticks until it is quiet; every event checked against the limit. */
  const drain = (produce: () => unknown): TDevicesChanged[] => {
    const events: TDevicesChanged[] = [];
    for (let body = produce(); body !== undefined; body = produce()) {
      expect(eventBytes(body)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
      events.push(ZDevicesChangedSchema.parse(body));
      expect(events.length).toBeLessThan(20);
    }
    return events;
  };
  const watch = async (body: unknown): Promise<() => unknown> => {
    const before = produces.length;
    result(await request("devices.watch", body));
    const produce = produces[before];
    if (produce === undefined) throw new Error("no subscription");
    return produce;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "veil-devsize-"));
    service = await startDeviceService({
      stateDir: dir,
      logger: silentLogger,
      bindHost: "127.0.0.1",
      informPort: 0,
      channelPort: 0,
      limits: { perDevice: { ratePerSec: 100, burst: 100 } },
    });
    const base = dispatchContext({
      cache: new ReplayCache(),
      handlers: createDeviceRequestHandlers(() => service) as unknown as DispatchContext["handlers"],
      role: "viewer",
    });
    // Subscriptions are ticked by hand: their producers are kept.
    ctx = {
      ...base,
      makeContext: (requestId) => ({
        ...base.makeContext(requestId),
        subscribe: ({ produce }) => {
          produces.push(produce);
          return requestId;
        },
      }),
    };
    for (let i = 0; i < ATTACKERS; i++) ingest(inform(macOf(i), i % 2 === 0 ? CTRL : EURO, 1));
  });
  afterAll(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("devices.list: a page of 100 stops at the byte budget, and paging by offset + length visits every device once", async () => {
    for (const sort of ["name", "mac"] as const) {
      const seen: string[] = [];
      let offset = 0;
      let pages = 0;
      let total = Number.POSITIVE_INFINITY;
      while (offset < total) {
        const r = await request("devices.list", { offset, limit: 100, sort });
        expect(bytes(r.json)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
        const page = result<TDevicesListResult>(r);
        expect(page.offset).toBe(offset);
        expect(page.devices.length).toBeGreaterThan(0);
        total = page.total;
        seen.push(...page.devices.map((d) => d.mac));
        offset += page.devices.length;
        pages += 1;
      }
      expect(total).toBe(ATTACKERS);
      expect(pages).toBeGreaterThan(1); // the first page came back short
      expect(seen.length).toBe(ATTACKERS);
      expect(new Set(seen).size).toBe(ATTACKERS);
    }
  });

  it("devices.watch: a tick in which every attacker row changed is split across events under the limit; none is lost", async () => {
    const whole = await watch({ intervalMs: 100 });
    const mine = await watch({ intervalMs: 100, macs: Array.from({ length: ATTACKERS }, (_, i) => macOf(i)) });
    for (let i = 0; i < ATTACKERS; i++) ingest(inform(macOf(i), i % 2 === 0 ? CTRL : EURO, 2));
    for (const produce of [whole, mine]) {
      const events = drain(produce);
      expect(events.some((e) => e.resync)).toBe(false);
      expect(events.length).toBeGreaterThan(1);
      const rows = events.flatMap((e) => e.devices);
      expect(rows.length).toBe(ATTACKERS);
      expect(new Set(rows.map((d) => d.mac)).size).toBe(ATTACKERS);
      expect(rows.every((d) => d.uptime === 2)).toBe(true);
    }
  });

  it("devices.watch of the rows on screen: after the change feed overflowed, every watched row comes back, under the limit", async () => {
    const mine = await watch({ intervalMs: 100, macs: Array.from({ length: ATTACKERS }, (_, i) => macOf(i)) });
    // More changes than the feed keeps: the watch cannot tell what changed and sends every row.
    for (let i = 0; i < 50_001; i++) service.ctx.inventory.touch("02:66:00:00:02:00");
    const events = drain(mine);
    expect(events.length).toBeGreaterThan(1);
    const rows = events.flatMap((e) => e.devices);
    expect(new Set(rows.map((d) => d.mac)).size).toBe(ATTACKERS);
    expect(rows.length).toBe(ATTACKERS);
  });

  it("devices.get: the worst device (64 named interfaces, 150 named clients, a full day of history, 20 commands) fits; clientsTotal still counts all", async () => {
    const client = (i: number) => ({
      mac: `02:67:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`,
      ip: "255.255.255.255",
      hostname: CTRL.repeat(64),
      signal: -120,
      uptime: Number.MAX_SAFE_INTEGER,
      rx_bytes: Number.MAX_SAFE_INTEGER,
      tx_bytes: Number.MAX_SAFE_INTEGER,
    });
    const iface = (i: number) => ({
      name: CTRL.repeat(32),
      mac: `02:68:00:00:00:${i.toString(16).padStart(2, "0")}`,
      up: false,
      speed: 400_000,
      rx_bytes: Number.MAX_SAFE_INTEGER - i,
      tx_bytes: Number.MAX_SAFE_INTEGER - i,
    });
    ingest(
      inform(BIG, CTRL, 1, {
        if_table: Array.from({ length: 64 }, (_, i) => iface(i)),
        sta_table: Array.from({ length: 150 }, (_, i) => client(i)),
      }),
    );
    const inv = service.ctx.inventory;
    const d = inv.devices.get(BIG);
    if (d === undefined) throw new Error("not ingested");
    const now = Date.now();
    const history = new DeviceHistory();
    const m = Math.floor(now / 60_000);
    for (let k = 0; k < 1440; k++)
      history.put({ m: m - k, cpu: 33.3, mem: 66.6, rx: Number.MAX_SAFE_INTEGER, tx: Number.MAX_SAFE_INTEGER });
    d.history = history;
    for (let k = 0; k < 20; k++)
      inv.saveCommand({
        commandId: randomUUID(),
        mac: BIG,
        command: "setInterval",
        status: "failed",
        error: { code: "device_error", message: "x".repeat(200) },
        accountId: randomUUID(),
        at: now,
      });
    for (const historyMinutes of [60, 240, 1440]) {
      const r = await request("devices.get", { mac: BIG, historyMinutes });
      expect(bytes(r.json)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
      const detail = result<TDeviceDetail>(r);
      expect(detail.clientsTotal).toBe(150);
      expect(detail.clients.length).toBeGreaterThan(0);
      expect(detail.clients.length).toBeLessThan(100);
      expect(detail.interfaces.length).toBe(64);
    }
  });

  it("outages.list: 500 outages (the largest page) fit", async () => {
    const inv = service.ctx.inventory;
    for (let k = 0; k < 500; k++)
      inv.outages.push({ mac: macOf(k % ATTACKERS), start: Number.MAX_SAFE_INTEGER - k, end: Number.MAX_SAFE_INTEGER });
    const r = await request("outages.list", { limit: 500 });
    expect(bytes(r.json)).toBeLessThanOrEqual(MAX_E2E_MESSAGE_BYTES);
    expect(result<{ outages: unknown[] }>(r).outages.length).toBe(500);
  });
});

describe("a device's traffic rate", () => {
  it("stays a safe integer when a made-up device's counters jump by 2^53 in a millisecond", () => {
    const d: DeviceEntry = {
      mac: "02:00:00:00:00:01",
      dialect: "unifi",
      adopted: false,
      intervalSec: 10,
      firstSeen: 0,
      lastSeen: 0,
      status: "pending",
      stateSavedAt: 0,
    };
    const state = (bytes: number): TDeviceState =>
      ({
        cpu: 1,
        memory: { usedBytes: 1, totalBytes: 2 },
        interfaces: [{ name: "eth0", up: true, rxBytes: bytes, txBytes: bytes }],
      }) as unknown as TDeviceState;
    addToMinute(d, state(0), 60_000, 1);
    addToMinute(d, state(Number.MAX_SAFE_INTEGER), 60_001, 1);
    const sample = openMinuteSample(d);
    expect(sample?.rx).toBe(Number.MAX_SAFE_INTEGER);
    expect(Number.isSafeInteger(sample?.tx)).toBe(true);
  });
});
