import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DeviceChannelClient, decodeSiteKey, type ChannelCredential } from "@veil/devices";
import { type DeviceService } from "../src/devices/device-service";
import type { TDeviceState } from "../src/protocol";
import { waitUntil } from "./harness/browser";
import { LocalDeviceServices } from "./harness/local-device-services";

const MAC = "02:ee:00:00:00:01";
const HELLO = { kind: "ap", model: "X", firmware: "1", hostname: "flooder" } as const;

/** One WSS connection to the device channel, with the companion's challenge. */
function connect(url: string): Promise<{ ws: WebSocket; challenge: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false });
    ws.once("message", (d: Buffer) => resolve({ ws, challenge: new Uint8Array(d) }));
    ws.once("error", reject);
  });
}
const nextFrame = (ws: WebSocket): Promise<Uint8Array> =>
  new Promise((resolve) => ws.once("message", (d: Buffer) => resolve(new Uint8Array(d))));

describe("the device channel's frame budget: an adopted device's flood is dropped, not slowed into the inventory", () => {
  const services = new LocalDeviceServices();
  let service: DeviceService;

  beforeAll(async () => {
    service = await services.start();
  });
  afterAll(() => services.stopAll());

  it("5,000 informs in one burst from an adopted device: only its budget is taken, the rest counts as rate-limited", async () => {
    const site = decodeSiteKey(service.siteKey().text);
    const url = `wss://127.0.0.1:${service.channelPort}/devices`;
    // First contact under the site key, then the device key it was issued.
    let c = await connect(url);
    const enrol = new DeviceChannelClient({ mac: MAC, credential: { type: "site", keyId: site.keyId, key: site.key } });
    c.ws.send(enrol.hello(c.challenge, HELLO));
    enrol.receive(await nextFrame(c.ws));
    c.ws.close();
    const issued: ChannelCredential | undefined = enrol.issuedKey;
    if (issued === undefined) throw new Error("no device key issued");
    c = await connect(url);
    const device = new DeviceChannelClient({ mac: MAC, credential: issued });
    c.ws.send(device.hello(c.challenge, HELLO));
    await nextFrame(c.ws); // welcome
    const counters = service.ctx.counters;
    const before = counters.get("veil.accepted");
    const state: TDeviceState = {
      mac: MAC,
      kind: "ap",
      model: "X",
      modelDisplay: "X",
      firmware: "1",
      hostname: "flooder",
      ip: "10.0.0.1",
      uptime: 1,
      cpu: 1,
      memory: { totalBytes: 1, usedBytes: 1 },
      locating: false,
      interfaces: [],
      clients: [],
    };
    const started = Date.now();
    for (let i = 0; i < 5000; i += 1)
      c.ws.send(device.send({ type: "inform", seq: i, state: { ...state, uptime: i + 1 } }));
    await waitUntil(() => counters.get("veil.rate_limited_device") > 0, 5000, "refusals");
    await new Promise((r) => setTimeout(r, 1000));
    const seconds = (Date.now() - started) / 1000;
    // The per-device budget is 5 informs/s with a burst of 20 (device-context.ts): an over-budget
    // frame of a device with no terminal is dropped, never slowed and then taken.
    expect(counters.get("veil.accepted") - before).toBeLessThanOrEqual(20 + Math.ceil(5 * seconds) + 1);
    expect(counters.get("veil.throttled_device")).toBe(0);
    c.ws.terminate();
  }, 20_000);
});
