import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../src/index";
import { sourceOptions } from "../src/source-address";
import { startCompanion, type Companion } from "./helpers/channel-companion";
import { startInformReceiver, waitFor, type InformReceiver } from "./helpers/inform-receiver";

const quick = { admin: false, discovery: "off", timeScale: 0.05, startSpreadMs: 0, faultRate: 0 } as const;

describe("each device connects from its own address", () => {
  let sim: SimulatorHandle | undefined;
  let rx: InformReceiver | undefined;
  let companion: Companion | undefined;
  afterEach(async () => {
    await sim?.stop();
    await rx?.close();
    await companion?.close();
    sim = rx = companion = undefined;
  });

  it("UniFi informs come from the device's 127.x.y.z, one address per device", async () => {
    rx = await startInformReceiver(4);
    sim = await startSimulator({ ...quick, devices: 4, firstAddress: "127.0.3.10", informUrl: rx.url });
    const r = rx;
    await waitFor(() => r.devices.size === 4 && [...r.devices.values()].every((d) => d.informsAuthkey >= 1));
    for (const d of sim.devices) expect([...(r.devices.get(d.mac)?.remotes ?? [])]).toEqual([d.ip]);
    expect(sim.devices.map((d) => d.ip)).toEqual(["127.0.3.10", "127.0.3.11", "127.0.3.12", "127.0.3.13"]);
  });

  it("Veil channel connections come from the device's 127.x.y.z", async () => {
    companion = await startCompanion({ interval: 4 });
    sim = await startSimulator({ ...quick, devices: 3, firstAddress: "127.0.4.20", siteKey: companion.siteKey });
    const c = companion;
    await waitFor(() => c.sessions.device >= 3);
    for (const d of sim.devices) expect([...(c.remotes.get(d.mac) ?? [])]).toEqual([d.ip]);
  });

  it("a device with a LAN address keeps the system's source (127.0.0.1 to a local companion)", async () => {
    rx = await startInformReceiver(4);
    sim = await startSimulator({ ...quick, devices: 2, firstAddress: "192.168.77.2", informUrl: rx.url });
    const r = rx;
    await waitFor(() => r.devices.size === 2);
    for (const d of sim.devices) expect([...(r.devices.get(d.mac)?.remotes ?? [])]).toEqual(["127.0.0.1"]);
  });

  it("binds only from a loopback device to a loopback target", () => {
    expect(sourceOptions("127.0.0.9", "http://127.0.0.1:8080/inform")).toEqual({
      localAddress: "127.0.0.9",
      family: 4,
    });
    expect(sourceOptions("127.0.0.9", "wss://localhost:8443/devices")).toEqual({
      localAddress: "127.0.0.9",
      family: 4,
    });
    expect(sourceOptions("127.0.0.9", "http://10.0.0.5:8080/inform")).toEqual({});
    expect(sourceOptions("10.1.2.3", "http://127.0.0.1:8080/inform")).toEqual({});
    expect(sourceOptions("127.0.0.9", "http://[::1]:8080/inform")).toEqual({});
  });
});
