import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authkeyToKey, encodeInformJson, encodeInformPacket, generateAuthkey, INFORM_DEFAULT_KEY } from "@veil/devices";
import { type DeviceService } from "../src/devices/device-service";
import { postInform } from "./harness/inform-post";
import { LocalDeviceServices } from "./harness/local-device-services";

const inform = (mac: string): Record<string, unknown> => ({
  mac,
  ip: "10.0.0.5",
  model: "U7PG2",
  version: "6.6.55",
  hostname: "ap",
  uptime: 5,
  if_table: [],
});
const utf8 = new TextEncoder();

describe("an inform that is cheap to send but costly to parse is refused before it costs (attacker on the LAN)", () => {
  const services = new LocalDeviceServices();
  let service: DeviceService;
  const T = 1_800_000_000_000;

  beforeAll(async () => {
    service = await services.start({
      // A frozen clock: buckets never refill, so the bounds below are exact on any machine.
      now: () => T,
      limits: { defaultKeyKiBPerIp: { ratePerSec: 1, burst: 1024 } },
    });
  });
  afterAll(() => services.stopAll());

  it("250,000 nested arrays in under 1 KiB of zlib are refused by the shape scan; another address's inform is answered", async () => {
    const mac = "02:44:00:00:00:01";
    const deep = encodeInformPacket({
      mac,
      key: INFORM_DEFAULT_KEY,
      plaintext: utf8.encode("[".repeat(250_000) + "]".repeat(250_000)),
      cipher: "cbc",
    });
    expect(deep.length).toBeLessThan(2048);
    const tooLarge = service.ctx.counters.get("unifi.too_large");
    expect(await postInform(service.informPort, deep, "127.0.0.71")).toBe(400);
    expect(service.ctx.counters.get("unifi.too_large")).toBe(tooLarge + 1);
    // So is a 512 KiB array of zeros (more values than a real inform has).
    const zeros = encodeInformPacket({
      mac,
      key: INFORM_DEFAULT_KEY,
      plaintext: utf8.encode("[" + "0,".repeat(200_000) + "0]"),
    });
    expect(await postInform(service.informPort, zeros, "127.0.0.71")).toBe(400);
    expect(service.ctx.counters.get("unifi.too_large")).toBe(tooLarge + 2);
    const honest = "02:44:00:00:00:02";
    const ok = encodeInformJson(inform(honest), { mac: honest, key: INFORM_DEFAULT_KEY });
    expect(await postInform(service.informPort, ok, "127.0.0.72")).toBe(200);
  });

  it("default-key payloads are charged by decompressed size: one address gets at most its budget parsed", async () => {
    const counters = service.ctx.counters;
    const limited = counters.get("unifi.rate_limited_default_key");
    // 400 KiB of payload in a few hundred bytes on the wire, each for a new made-up MAC.
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 10; i++) {
      const mac = `02:45:00:00:00:${i.toString(16).padStart(2, "0")}`;
      const big = encodeInformJson({ ...inform(mac), pad: "x".repeat(400 * 1024) }, { mac, key: INFORM_DEFAULT_KEY });
      statuses.push(await postInform(service.informPort, big, "127.0.0.73"));
    }
    // A 1 MiB budget is spent after three: the rest are refused before decryption.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
    expect(counters.get("unifi.rate_limited_default_key") - limited).toBeGreaterThanOrEqual(7);
    // An adopted device behind the same address, under its own key, is not held back by it …
    const adopted = "02:45:00:00:01:00";
    const d = service.ctx.inventory.ensure(adopted, "unifi", T);
    d.adopted = true;
    d.authkey = generateAuthkey();
    const own = encodeInformJson(inform(adopted), { mac: adopted, key: authkeyToKey(d.authkey) });
    expect(await postInform(service.informPort, own, "127.0.0.73")).toBe(200);
    // … and a new device at another address is answered.
    const other = "02:45:00:00:02:00";
    expect(
      await postInform(
        service.informPort,
        encodeInformJson(inform(other), { mac: other, key: INFORM_DEFAULT_KEY }),
        "127.0.0.74",
      ),
    ).toBe(200);
  });

  it("an adopted device's own-key inform may be larger (a dense access point's client table); the default key keeps the tight cap", async () => {
    const mac = "02:46:00:00:00:01";
    const d = service.ctx.inventory.ensure(mac, "unifi", T);
    d.adopted = true;
    d.authkey = generateAuthkey();
    // ~700 KiB of JSON: over the default key's 512 KiB, under the own key's 4 MiB.
    const big = { ...inform(mac), pad: "x".repeat(700 * 1024) };
    expect(
      await postInform(service.informPort, encodeInformJson(big, { mac, key: authkeyToKey(d.authkey) }), "127.0.0.75"),
    ).toBe(200);
    const stranger = "02:46:00:00:00:02";
    const tooLarge = service.ctx.counters.get("unifi.too_large");
    expect(
      await postInform(
        service.informPort,
        encodeInformJson({ ...big, mac: stranger }, { mac: stranger, key: INFORM_DEFAULT_KEY }),
        "127.0.0.76",
      ),
    ).toBe(400);
    expect(service.ctx.counters.get("unifi.too_large")).toBe(tooLarge + 1);
  });
});
