import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authkeyToKey, decodeInformJson, encodeInformJson, INFORM_DEFAULT_KEY, parseMgmtCfg } from "@veil/devices";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { startDeviceService, type DeviceService } from "../src/devices/device-service";
import { openSiteServices, type SiteServices } from "../src/discovery/site-requests";
import { adoptDevices } from "../src/adoption/adopt-devices";
import { createDeviceRequestHandlers } from "../src/devices/device-request-handlers";
import { ZDiscoveryAdoptBodySchema, type TDeviceJobProgress } from "../src/protocol";
import { waitUntil } from "./harness/browser";

const USERNAME = "siteadmin";
/** Certificate fingerprints of two hosts. */
const FP_A = "a".repeat(64);
const FP_B = "b".repeat(64);
const PASSWORD = "Handover-Once-4b1d";
const inform = (mac: string, uptime: number): Record<string, unknown> => ({
  mac,
  ip: "10.0.0.9",
  model: "U7PG2",
  version: "6.6.55",
  hostname: "ap9",
  uptime,
  if_table: [],
});
/** The reply to one inform of `mac` under `key`, decoded with that key. */
const replyTo = (service: DeviceService, mac: string, key: Uint8Array, uptime: number): Record<string, unknown> => {
  const out = service.ingest.handle(encodeInformJson(inform(mac, uptime), { mac, key }), "10.0.0.9");
  if (out.kind !== "reply") throw new Error(`inform not answered: ${JSON.stringify(out)}`);
  return decodeInformJson(out.body, key).json as Record<string, unknown>;
};

describe("UniFi adoption over pinned HTTPS: the authkey never goes out under the public default key", () => {
  const dirs: string[] = [];
  let sim: SimulatorHandle;
  let service: DeviceService;
  let site: SiteServices;
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "veil-handover-"));
    dirs.push(d);
    return d;
  };
  const devices = (dir: string): Promise<DeviceService> =>
    // autoAdopt on: even then no default-key inform gets a key handed over HTTPS.
    startDeviceService({
      stateDir: dir,
      logger: silentLogger,
      bindHost: "127.0.0.1",
      informPort: 0,
      channelPort: 0,
      autoAdopt: true,
    });
  const adopt = async (
    mac: string,
    withDevices = true,
    extra: { certSha256?: string; trustNewCertificate?: boolean } = {},
  ): Promise<TDeviceJobProgress[]> => {
    const d = sim.device(mac);
    if (d === undefined) throw new Error("no such device");
    const { certSha256, trustNewCertificate = false } = extra;
    const body = ZDiscoveryAdoptBodySchema.parse({
      devices: [{ mac, ip: d.ip, port: sim.adminPort, ...(certSha256 !== undefined ? { certSha256 } : {}) }],
      credentials: { login: { username: USERNAME, password: PASSWORD } },
      install: { unifiInform: true },
      trustNewCertificate,
    });
    const out: TDeviceJobProgress[] = [];
    // As start-companion.ts wires it: the device side, or undefined while none runs.
    await adoptDevices(body, { ...site, unifiHandover: () => (withDevices ? service.unifiHandover : undefined) }, (p) =>
      out.push(p),
    );
    return out;
  };

  beforeAll(async () => {
    sim = await startSimulator({
      devices: 3,
      seed: 12,
      firstAddress: "127.0.6.2",
      discovery: "off",
      adminPort: 0,
      username: USERNAME,
      password: PASSWORD,
      faultRate: 0,
      timeScale: 0.05,
    });
    service = await devices(tempDir());
    site = openSiteServices({
      stateDir: tempDir(),
      instanceId: randomUUID(),
      clock: systemClock,
      logger: silentLogger,
      scanRanges: "127.0.6.0/24",
    });
  });
  afterAll(async () => {
    await sim.stop();
    await service.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("the device gets its inform URL and authkey in the pinned request, and its first inform is already under that key", async () => {
    const mac = sim.devices[0]?.mac ?? "";
    const defaultKeyInforms = service.ctx.counters.get("unifi.accepted_default_key");
    expect(await adopt(mac)).toMatchObject([{ mac, status: "done", pinned: true }]);
    const simulated = sim.device(mac);
    expect(simulated?.unifi.informUrl).toBe(`http://127.0.0.1:${service.informPort}/inform`);
    await waitUntil(
      () => service.ctx.inventory.devices.get(mac)?.adopted === true,
      10_000,
      "adopted by its first inform",
    );
    const entry = service.ctx.inventory.devices.get(mac);
    expect(entry?.authkey).toBe(simulated?.unifi.authkey);
    expect(entry?.pendingAuthkey).toBeUndefined();
    expect(entry?.handedAuthkeys).toBeUndefined();
    // It never informed under the default key, so nothing could have been handed out that way.
    expect(service.ctx.counters.get("unifi.accepted_default_key")).toBe(defaultKeyInforms);
    expect(entry?.authkeyCert).toBe(await sim.certificateFingerprint(mac));
    // The same device (same certificate) may be handed a new key; another certificate at its
    // address, even one the operator chose to trust, may not take over its identity.
    expect(await adopt(mac)).toMatchObject([{ mac, status: "done" }]);
    await waitUntil(
      () => service.ctx.inventory.devices.get(mac)?.authkey === simulated?.unifi.authkey,
      10_000,
      "re-keyed",
    );
    const rekeyed = simulated?.unifi.authkey;
    const rotated = await sim.rotateCertificate(mac);
    expect(await adopt(mac, true, { certSha256: rotated, trustNewCertificate: true })).toMatchObject([
      { mac, status: "failed", error: "inventory_refused" },
    ]);
    expect(simulated?.unifi.authkey).toBe(rekeyed);
    expect(service.ctx.inventory.devices.get(mac)?.authkey).toBe(rekeyed);
  });

  it("a LAN host informing first for that MAC under the default key gets `noop`, never a key, also after a restart; any key handed over adopts it", async () => {
    const dir = tempDir();
    let own = await devices(dir);
    const hand = (mac: string, fp = FP_A): string => {
      const authkey = own.unifiHandover?.handOver(mac, fp);
      if (authkey === undefined) throw new Error("refused");
      return authkey;
    };
    try {
      const mac = "02:77:00:00:00:09";
      // The MAC informed under the default key before (its factory inform URL points here): with
      // autoAdopt it was sent a key the inform way, which the handover withdraws.
      const informWay = parseMgmtCfg(String(replyTo(own, mac, INFORM_DEFAULT_KEY, 1).mgmt_cfg))["mgmt.authkey"];
      // Handed twice (a retry, or two operators at once): either key adopts the device.
      const first = hand(mac);
      const second = hand(mac);
      const impostor = replyTo(own, mac, INFORM_DEFAULT_KEY, 2);
      expect(impostor._type).toBe("noop");
      for (const k of [first, second]) expect(JSON.stringify(impostor)).not.toContain(k);
      expect(
        own.ingest.handle(encodeInformJson(inform(mac, 3), { mac, key: authkeyToKey(informWay ?? "") }), "10.0.0.9"),
      ).toMatchObject({ kind: "drop" });
      // The inform way, by contrast, hands the key to whoever informs next under the default key.
      const other = "02:77:00:00:00:0a";
      own.ingest.handle(encodeInformJson(inform(other, 1), { mac: other, key: INFORM_DEFAULT_KEY }), "10.0.0.10");
      const otherKey = parseMgmtCfg(String(replyTo(own, other, INFORM_DEFAULT_KEY, 2).mgmt_cfg))["mgmt.authkey"] ?? "";
      expect(otherKey).toMatch(/^[0-9a-f]{32}$/);
      // The handed keys are kept across a restart.
      await own.close();
      own = await devices(dir);
      expect(own.ctx.inventory.devices.get(mac)?.handedAuthkeys?.map((h) => h.k)).toEqual([first, second]);
      expect(replyTo(own, mac, INFORM_DEFAULT_KEY, 4)._type).toBe("noop");
      // An operator's devices.adopt sends another key the inform way; the handed ones stay valid.
      const adoptHandler = createDeviceRequestHandlers(() => own)["devices.adopt"];
      await adoptHandler({ mac }, { grant: { accountId: "operator-1" }, now: () => Date.now() } as never);
      const operatorsChoice = replyTo(own, mac, INFORM_DEFAULT_KEY, 5);
      expect(operatorsChoice._type).toBe("setparam");
      for (const k of [first, second]) expect(JSON.stringify(operatorsChoice)).not.toContain(k);
      // The device itself, with the first key it was handed, is adopted by its first inform.
      replyTo(own, mac, authkeyToKey(first), 6);
      expect(own.ctx.inventory.devices.get(mac)).toMatchObject({ adopted: true, authkey: first });
      expect(own.ctx.inventory.devices.get(mac)?.handedAuthkeys).toBeUndefined();
      // Adopted, the MAC takes no default-key informs, and no other key it was given.
      for (const key of [INFORM_DEFAULT_KEY, authkeyToKey(second)])
        expect(own.ingest.handle(encodeInformJson(inform(mac, 7), { mac, key }), "10.0.0.9")).toMatchObject({
          kind: "drop",
        });
      // Only the device that was handed the key in use (its certificate) may be re-keyed: not
      // another host at its address, and not a device whose key went the inform way.
      expect(own.unifiHandover?.handOver(mac, FP_B)).toBeUndefined();
      expect(hand(mac, FP_A)).toMatch(/^[0-9a-f]{32}$/);
      replyTo(own, other, authkeyToKey(otherKey), 3);
      expect(own.ctx.inventory.devices.get(other)).toMatchObject({ adopted: true, authkey: otherKey });
      expect(own.unifiHandover?.mayHandOver(other, FP_A)).toBe(false);
      expect(own.unifiHandover?.handOver(other, FP_A)).toBeUndefined();
    } finally {
      await own.close();
    }
  });

  it("a device handed a key keeps its place in a full inventory for a day, as a pending device would not", () => {
    const mac = "02:77:00:00:00:0c";
    service.unifiHandover?.handOver(mac, FP_A);
    const inventory = service.ctx.inventory;
    const now = Date.now();
    expect(inventory.evictStalePending(now + 60 * 60_000, 10 * 60_000)).not.toBe(mac);
    expect(inventory.devices.has(mac)).toBe(true);
    let evicted: string | undefined;
    do evicted = inventory.evictStalePending(now + 25 * 60 * 60_000, 10 * 60_000);
    while (evicted !== undefined && evicted !== mac);
    expect(evicted).toBe(mac);
  });

  it("refuses a MAC a Veil device holds (`inventory_refused`) and needs the device side (`no_target`); the device is left as it was", async () => {
    const veilHeld = sim.devices[1]?.mac ?? "";
    service.ctx.inventory.ensure(veilHeld, "veil", Date.now());
    expect(await adopt(veilHeld)).toMatchObject([{ mac: veilHeld, status: "failed", error: "inventory_refused" }]);
    expect(sim.device(veilHeld)?.unifi.authkey).toBeUndefined();
    const plain = sim.devices[2]?.mac ?? "";
    const requests = sim.stats().adminRequests;
    expect(await adopt(plain, false)).toMatchObject([{ mac: plain, status: "failed", error: "no_target" }]);
    // Refused before any request reached the device.
    expect(sim.stats().adminRequests).toBe(requests);
    // One device at most once per job.
    expect(
      ZDiscoveryAdoptBodySchema.safeParse({
        devices: [
          { mac: plain, ip: "127.0.6.4" },
          { mac: plain, ip: "127.0.6.4" },
        ],
        credentials: { login: { username: USERNAME, password: PASSWORD } },
      }).success,
    ).toBe(false);
    expect(sim.device(plain)?.unifi.informUrl).toBeUndefined();
    expect(service.ctx.inventory.devices.has(plain)).toBe(false);
  });
});
