import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  DeviceChannelClient,
  decodeSiteKey,
  encodeInformJson,
  INFORM_DEFAULT_KEY,
  type ChannelCredential,
} from "@veil/devices";
import { type DeviceService, type DeviceServiceOptions } from "../src/devices/device-service";
import { LocalDeviceServices } from "./harness/local-device-services";

const HELLO = { kind: "ap", model: "X", firmware: "1", hostname: "fake" } as const;

/** One hello under `credential` from `localAddress`: the answer's type, or "closed". */
async function hello(
  service: DeviceService,
  mac: string,
  credential: ChannelCredential,
  localAddress: string,
): Promise<{ answer: string; client: DeviceChannelClient }> {
  const ws = new WebSocket(`wss://127.0.0.1:${service.channelPort}/devices`, {
    rejectUnauthorized: false,
    localAddress,
  });
  const frames: (Uint8Array | null)[] = [];
  const waiters: ((f: Uint8Array | null) => void)[] = [];
  const push = (f: Uint8Array | null): void => {
    const w = waiters.shift();
    if (w) w(f);
    else frames.push(f);
  };
  ws.on("message", (d: Buffer) => push(new Uint8Array(d)));
  ws.on("close", () => push(null));
  ws.on("error", () => undefined);
  const next = (): Promise<Uint8Array | null> =>
    frames.length > 0 ? Promise.resolve(frames.shift() ?? null) : new Promise((r) => waiters.push(r));
  const client = new DeviceChannelClient({ mac, credential });
  try {
    const challenge = await next();
    if (challenge === null) return { answer: "closed", client };
    ws.send(client.hello(challenge, HELLO));
    const reply = await next();
    return { answer: reply === null ? "closed" : client.receive(reply).type, client };
  } finally {
    ws.close();
  }
}

/** Site-key enrolment then the device-key session, as the sitefill attack does. */
async function enrolAndAdopt(service: DeviceService, mac: string, localAddress: string): Promise<string> {
  const site = decodeSiteKey(service.siteKey().text);
  const first = await hello(service, mac, { type: "site", keyId: site.keyId, key: site.key }, localAddress);
  const issued = first.client.issuedKey;
  if (first.answer !== "key_issue" || issued === undefined) return first.answer;
  return (await hello(service, mac, issued, localAddress)).answer;
}

describe("a site-key holder cannot fill the inventory for good", () => {
  const services = new LocalDeviceServices();
  const start = (extra: Partial<DeviceServiceOptions>): Promise<DeviceService> => services.start(extra);
  afterEach(() => services.stopAll());

  it("enrolments are budgeted per address and per site key", async () => {
    // A site key's burst is at least the inventory's size (a roll-out enrols a whole site at
    // once): an inventory of 6 gives it the 6 this test spends.
    const s = await start({
      maxDevices: 6,
      limits: {
        enrolmentsPerIp: { ratePerSec: 1 / 3600, burst: 4 },
        enrolmentsPerSiteKey: { ratePerSec: 1 / 3600, burst: 6 },
      },
    });
    const fromOne: string[] = [];
    for (let i = 0; i < 6; i++) fromOne.push(await enrolAndAdopt(s, `02:ef:00:00:00:0${i}`, "127.0.0.58"));
    expect(fromOne).toEqual(["welcome", "welcome", "welcome", "welcome", "closed", "closed"]);
    expect(await enrolAndAdopt(s, "02:ef:00:00:01:00", "127.0.0.59")).toBe("welcome");
    expect(await enrolAndAdopt(s, "02:ef:00:00:01:01", "127.0.0.59")).toBe("welcome");
    // The site key's six are spent, whichever address asks.
    expect(await enrolAndAdopt(s, "02:ef:00:00:02:00", "127.0.0.61")).toBe("closed");
    expect(s.ctx.counters.get("veil.enrol_rate_limited")).toBe(3);
  });

  it("enrolments never heard from again are evicted a day later when a real device needs the room", async () => {
    let skew = 0;
    const s = await start({ maxDevices: 10, now: () => Date.now() + skew });
    for (let i = 0; i < 10; i++) expect(await enrolAndAdopt(s, `02:ef:00:00:00:0${i}`, "127.0.0.62")).toBe("welcome");
    expect([...s.ctx.inventory.devices.values()].every((d) => d.adopted)).toBe(true);
    expect(await enrolAndAdopt(s, "02:99:00:00:00:02", "127.0.0.63")).toBe("closed"); // full
    skew = 25 * 3600_000;
    const mac = "02:99:00:00:00:01";
    const ap = encodeInformJson(
      { mac, ip: "10.0.0.5", model: "U7PG2", version: "6.6.55", hostname: "real-ap", uptime: 5, if_table: [] },
      { mac, key: INFORM_DEFAULT_KEY },
    );
    expect(s.ingest.handle(ap, "127.0.0.64").kind).toBe("reply");
    expect(await enrolAndAdopt(s, "02:99:00:00:00:02", "127.0.0.63")).toBe("welcome");
    expect(s.ctx.inventory.devices.size).toBe(10);
  });
});
