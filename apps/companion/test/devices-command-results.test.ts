import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeInformJson, INFORM_DEFAULT_KEY } from "@veil/devices";
import { type DeviceService } from "../src/devices/device-service";
import { runDeviceCommand } from "../src/devices/run-device-command";
import { waitUntil } from "./harness/browser";
import { LocalDeviceServices } from "./harness/local-device-services";
import { adoptRawDevice, type RawDeviceSession } from "./harness/raw-veil-device";

/** Enrols `mac` and opens its device-key session, its welcome read. */
async function adopted(service: DeviceService, mac: string): Promise<RawDeviceSession> {
  const s = await adoptRawDevice(service, mac);
  s.client.receive(await s.next());
  return s;
}

describe("a command's result counts only from the device it was sent to", () => {
  const services = new LocalDeviceServices();
  let service: DeviceService;
  const sessions: RawDeviceSession[] = [];

  beforeAll(async () => {
    service = await services.start();
  });
  afterAll(async () => {
    for (const s of sessions) s.ws.close();
    await services.stopAll();
  });

  it("another adopted device, or a default-key inform, cannot settle a device's reboot with its id", async () => {
    const a = await adopted(service, "02:48:00:00:00:01");
    const b = await adopted(service, "02:48:00:00:00:02");
    sessions.push(a, b);
    const record = runDeviceCommand(service.ctx, "02:48:00:00:00:01", { command: "reboot" }, "acct-1", 60_000);
    const command = a.client.receive(await a.next());
    if (command.type !== "command") throw new Error(`expected a command, got ${command.type}`);
    // Device B learned the id (say from a leak, or it guessed): its "ok" is refused …
    const foreign = service.ctx.counters.get("veil.foreign_command_result");
    b.ws.send(b.client.send({ type: "command_result", id: command.id, ok: true }));
    await waitUntil(() => service.ctx.counters.get("veil.foreign_command_result") === foreign + 1, 10_000, "counted");
    // … and so are cmd_results in an inform under the public default key.
    const mac = "02:48:00:00:00:03";
    const unifi = encodeInformJson(
      {
        mac,
        ip: "10.0.0.5",
        model: "U7PG2",
        version: "6.6.55",
        hostname: "x",
        uptime: 5,
        if_table: [],
        cmd_results: [{ _id: command.id, ok: true, output: "" }],
      },
      { mac, key: INFORM_DEFAULT_KEY },
    );
    expect(service.ingest.handle(unifi).kind).toBe("reply");
    // The device itself reports failure: that is the outcome recorded.
    a.ws.send(a.client.send({ type: "command_result", id: command.id, ok: false }));
    const result = await record;
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe("device_error");
  });
});
