import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authkeyToKey, decodeInformJson, encodeInformJson, INFORM_DEFAULT_KEY, parseMgmtCfg } from "@veil/devices";
import { type DeviceService } from "../src/devices/device-service";
import { runDeviceCommand } from "../src/devices/run-device-command";
import { LocalDeviceServices } from "./harness/local-device-services";

const MAC = "02:77:00:00:00:01";
const inform = (uptime: number): Record<string, unknown> => ({
  mac: MAC,
  ip: "10.0.0.5",
  model: "U7PG2",
  version: "6.6.55",
  hostname: "ap1",
  uptime,
  if_table: [],
});

describe("a captured inform of an adopted device cannot be replayed (attacker on the LAN)", () => {
  const services = new LocalDeviceServices();
  let service: DeviceService;
  let key: Uint8Array;
  /** The device's first CBC+zlib inform under its authkey, as captured off the (plain HTTP) LAN. */
  let captured: Uint8Array;

  beforeAll(async () => {
    // A small inventory: the replay memory is sized to it, as in production (20,000).
    service = await services.start({
      autoAdopt: true,
      maxDevices: 50,
    });
    const first = service.ingest.handle(encodeInformJson(inform(1), { mac: MAC, key: INFORM_DEFAULT_KEY }), "10.0.0.5");
    if (first.kind !== "reply") throw new Error("not answered");
    const reply = decodeInformJson(first.body, INFORM_DEFAULT_KEY).json as { mgmt_cfg: string };
    const authkey = parseMgmtCfg(reply.mgmt_cfg)["mgmt.authkey"];
    if (authkey === undefined) throw new Error("no authkey");
    key = authkeyToKey(authkey);
    captured = encodeInformJson(inform(2), { mac: MAC, key, cipher: "cbc", compression: "zlib" });
    expect(service.ingest.handle(captured, "10.0.0.5").kind).toBe("reply");
    expect(service.ctx.inventory.devices.get(MAC)?.adopted).toBe(true);
  });
  afterAll(() => services.stopAll());

  it("CBC: the three IV variants that only change zlib's FLEVEL bits are replays too", () => {
    const replayed = service.ctx.counters.get("unifi.replayed");
    expect(service.ingest.handle(captured, "10.0.0.66")).toEqual({ kind: "drop", status: 400 });
    for (const x of [0x9c ^ 0xda, 0x9c ^ 0x5e, 0x9c ^ 0x01]) {
      const variant = new Uint8Array(captured);
      variant[16 + 1] = (variant[16 + 1] ?? 0) ^ x; // IV byte 1 XORs plaintext byte 1: zlib's FLG
      expect(service.ingest.handle(variant, "10.0.0.66")).toEqual({ kind: "drop", status: 400 });
    }
    expect(service.ctx.counters.get("unifi.replayed")).toBe(replayed + 4);
  });

  it("a default-key flood of made-up MACs does not flush the replay memory: the replay still cannot steal a queued reboot", async () => {
    // Many times the inventory's (and the replay memory's) size, from 30 addresses.
    for (let i = 0; i < 600; i++) {
      const mac = `02:aa:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
      const out = service.ingest.handle(encodeInformJson({}, { mac, key: INFORM_DEFAULT_KEY }), `10.1.0.${i % 30}`);
      expect(out.kind).toBe("drop");
    }
    const command = runDeviceCommand(service.ctx, MAC, { command: "reboot" }, "acct-1", 60_000);
    expect(service.ingest.handle(captured, "10.0.0.66")).toEqual({ kind: "drop", status: 400 });
    // The reboot still waits for the device itself …
    expect(service.ctx.unifiQueue.get(MAC)?.length).toBe(1);
    // … and goes out with its next genuine inform.
    const genuine = service.ingest.handle(encodeInformJson(inform(3), { mac: MAC, key }), "10.0.0.5");
    if (genuine.kind !== "reply") throw new Error("genuine inform not answered");
    expect((decodeInformJson(genuine.body, key).json as { _type: string })._type).toBe("reboot");
    expect((await command).status).toBe("done");
  });
});
