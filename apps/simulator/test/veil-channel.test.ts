import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type SimulatorHandle } from "../src/index";
import type { TDeviceUpMessage } from "@veil/protocol";
import { startCompanion, type Companion } from "./helpers/channel-companion";
import { waitFor } from "./helpers/inform-receiver";

/** JSON POST over HTTPS to a self-signed simulated device (the test does not pin). */
function fetchInsecure(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: { token?: string } }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: "POST",
        rejectUnauthorized: false,
        agent: false,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString() || "{}") as { token?: string },
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

const of = <T extends TDeviceUpMessage["type"]>(
  list: TDeviceUpMessage[] | undefined,
  type: T,
): Extract<TDeviceUpMessage, { type: T }>[] =>
  (list ?? []).filter((m): m is Extract<TDeviceUpMessage, { type: T }> => m.type === type);

describe("Veil channel: site key, per-device keys, commands, terminal", () => {
  let companion: Companion;
  let sim: SimulatorHandle;

  beforeAll(async () => {
    companion = await startCompanion({ interval: 4 });
    sim = await startSimulator({
      devices: 20,
      seed: 9,
      siteKey: companion.siteKey,
      admin: false,
      discovery: "off",
      timeScale: 0.05,
      startSpreadMs: 4000,
      rebootMs: 4000,
      faultRate: 0,
    });
  });
  afterAll(async () => {
    await sim.stop();
    await companion.close();
  });

  it("each device enrols with the site key, gets its own key, reconnects with it and informs", async () => {
    await waitFor(
      () => sim.devices.every((d) => of(companion.received.get(d.mac), "inform").length >= 2),
      20_000,
      "informs from 20 devices",
    );
    expect(companion.sessions.site).toBe(20);
    expect(companion.errors).toBe(0);
    for (const d of sim.devices) {
      const msgs = companion.received.get(d.mac);
      expect(of(msgs, "key_ack")).toHaveLength(1);
      expect(Buffer.from(d.veil.deviceKey?.keyId ?? []).toString("hex")).toBe(companion.issued.get(d.mac)?.keyId);
      const [first] = of(msgs, "inform");
      expect(first?.state).toMatchObject({ mac: d.mac, model: d.spec.model, kind: d.spec.kind });
    }
  });

  it("obeys locate, rename and set-interval with results", async () => {
    const d = sim.devices[0];
    if (!d) throw new Error("no device");
    expect(companion.send(d.mac, { type: "command", id: "loc1", command: { name: "locate", enabled: true } })).toBe(
      true,
    );
    companion.send(d.mac, { type: "command", id: "ren1", command: { name: "rename", hostname: "lobby-ap" } });
    companion.send(d.mac, { type: "command", id: "int1", command: { name: "set-interval", seconds: 2 } });
    await waitFor(() => of(companion.received.get(d.mac), "command_result").length >= 3, 5000, "three results");
    expect(of(companion.received.get(d.mac), "command_result").map((r) => [r.id, r.ok])).toEqual([
      ["loc1", true],
      ["ren1", true],
      ["int1", true],
    ]);
    const n = of(companion.received.get(d.mac), "inform").length;
    await waitFor(() => of(companion.received.get(d.mac), "inform").length > n, 5000, "next inform");
    expect(of(companion.received.get(d.mac), "inform").at(-1)?.state).toMatchObject({
      hostname: "lobby-ap",
      locating: true,
    });
  });

  it("reboots: the session drops, the device comes back under its device key with a fresh uptime", async () => {
    const d = sim.devices[1];
    if (!d) throw new Error("no device");
    const sessions = companion.sessions.device;
    companion.send(d.mac, { type: "command", id: "rb1", command: { name: "reboot" } });
    await waitFor(() => companion.sessions.device > sessions, 10_000, "a new session");
    await waitFor(
      () => (of(companion.received.get(d.mac), "inform").at(-1)?.state.uptime ?? Infinity) < 60,
      10_000,
      "inform after reboot",
    );
    expect(companion.sessions.site).toBe(20); // no re-enrolment
  });

  it("opens a terminal and runs a command in it", async () => {
    const d = sim.devices[2];
    if (!d) throw new Error("no device");
    companion.send(d.mac, {
      type: "command",
      id: "t1",
      command: { name: "terminal-open", sessionId: "s1", cols: 80, rows: 24 },
    });
    await waitFor(() => of(companion.received.get(d.mac), "terminal_data").length >= 1, 5000, "banner");
    companion.send(d.mac, {
      type: "terminal_data",
      sessionId: "s1",
      data: Buffer.from("uname -a\r").toString("base64url"),
    });
    const text = (): string =>
      of(companion.received.get(d.mac), "terminal_data")
        .map((m) => Buffer.from(m.data, "base64url").toString())
        .join("");
    await waitFor(() => text().includes(d.spec.model), 5000, "uname output");
    expect(text()).toContain(`${d.hostname}# `);
  });
});

describe("Veil channel: adoption over HTTPS with the site key", () => {
  it("a device told the site key over the management API enrols and informs", async () => {
    const companion = await startCompanion({ interval: 4 });
    const sim = await startSimulator({
      devices: 1,
      seed: 11,
      adminPort: 0,
      discovery: "off",
      firstAddress: "127.0.3.10",
      timeScale: 0.05,
      faultRate: 0,
    });
    try {
      const d = sim.devices[0];
      if (!d) throw new Error("no device");
      const post = (path: string, body: unknown, token?: string) =>
        fetchInsecure(`https://${d.ip}:${sim.adminPort}${path}`, body, token);
      const login = await post("/api/v1/login", { username: "ubnt", password: "ubnt" });
      expect((await post("/api/v1/adopt", { siteKey: companion.siteKey }, login.json.token)).status).toBe(200);
      await waitFor(() => of(companion.received.get(d.mac), "inform").length >= 1, 10_000, "inform over the channel");
      expect(companion.sessions).toEqual({ site: 1, device: 1 });
    } finally {
      await sim.stop();
      await companion.close();
    }
  });
});

describe("Veil channel: certificate pinning", () => {
  it("a device refuses a companion whose certificate does not match the site key's fingerprint", async () => {
    const companion = await startCompanion({ interval: 4, wrongPin: true });
    const sim = await startSimulator({
      devices: 2,
      seed: 1,
      siteKey: companion.siteKey,
      admin: false,
      discovery: "off",
      timeScale: 0.05,
      startSpreadMs: 100,
      faultRate: 0,
    });
    try {
      await waitFor(() => sim.stats().pinFailures >= 2, 5000, "pin failures");
      expect(companion.sessions.site + companion.sessions.device).toBe(0);
      expect(companion.received.size).toBe(0);
    } finally {
      await sim.stop();
      await companion.close();
    }
  });
});
