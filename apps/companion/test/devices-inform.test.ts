import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { useNativePrimitives } from "@veil/crypto/node";
import { decodeSiteKey, DeviceChannelClient, encodeInformJson, INFORM_DEFAULT_KEY, authkeyToKey } from "@veil/devices";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import { readStatus } from "../src/cli/status-command";
import type { DeviceService } from "../src/devices/device-service";
import type { RunningCompanion, StartOptions } from "../src/run/start-companion";
import type {
  TDeviceCommandRecord,
  TDeviceDetail,
  TDevicesChanged,
  TDevicesListResult,
  TE2EResponse,
  TOutage,
} from "../src/protocol";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { TestConsole } from "./harness/test-console";
import { postInform } from "./harness/inform-post";

useNativePrimitives();

/** Device timing: interval 4 s × timeScale 0.05 = an inform every 200 ms; offline after 0.6 s + 0.4 s. */
const SCALE = 0.05;
const deviceOptions = (ports: { informPort: number; channelPort: number }): NonNullable<StartOptions["devices"]> => ({
  bindHost: "127.0.0.1",
  publicHost: "127.0.0.1",
  ...ports,
  intervalSec: 4,
  timeScale: SCALE,
  offlineGraceMs: 400,
  limits: {
    perIp: { ratePerSec: 400, burst: 400 },
    perDevice: { ratePerSec: 20, burst: 40 },
    connectionsPerIp: { ratePerSec: 200, burst: 400 },
  },
});

const body = <T>(r: TE2EResponse): T => {
  if (r.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(r)}`);
  return r.body as T;
};

describe("devices: 50 simulated devices (UniFi + Veil) against the companion's inform servers, seen end to end", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  let service: DeviceService;
  let unifiSim: SimulatorHandle;
  let veilSim: SimulatorHandle;
  let adminB: BrowserSession;
  let operatorB: BrowserSession;
  let viewerB: BrowserSession;
  let siteKeyText = "";

  const browser = (account: TestAccount, role: "viewer" | "operator" | "admin"): BrowserSession =>
    new BrowserSession(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: admin, account, instanceId: instance.instanceId, role }),
    });
  const list = async (b: BrowserSession, extra: Record<string, unknown> = {}): Promise<TDevicesListResult> =>
    body<TDevicesListResult>(await b.request("devices.list", { limit: 100, ...extra }));
  const get = async (mac: string): Promise<TDeviceDetail> =>
    body<TDeviceDetail>(await viewerB.request("devices.get", { mac, historyMinutes: 60 }));
  const status = (mac: string): string | undefined => service.ctx.inventory.devices.get(mac)?.status;

  /** What the UniFi simulator logged (each inform error's cause, once per device until it recovers). */
  const unifiLog: string[] = [];

  beforeAll(async () => {
    await consoleServer.start();
    admin = makeAccount();
    instance = await makeInstance(admin, "devices-site");
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger, { devices: deviceOptions({ informPort: 0, channelPort: 0 }) });
    service = await (companion.devices ?? Promise.reject(new Error("no device service")));
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 5000, "companion online");
    adminB = browser(admin, "admin");
    operatorB = browser(makeAccount(), "operator");
    viewerB = browser(makeAccount(), "viewer");
    await Promise.all([adminB.open(), operatorB.open(), viewerB.open()]);
  }, 30_000);

  afterAll(async () => {
    for (const b of [adminB, operatorB, viewerB]) b.dispose();
    await Promise.all([unifiSim.stop(), veilSim.stop()]);
    companion.stop();
    await companion.finished;
    await consoleServer.stop();
    state.cleanup();
  }, 30_000);

  it("shows the site key only to an admin, end to end, pinned to the companion's certificate", async () => {
    expect(await viewerB.request("siteKey.get")).toMatchObject({ kind: "error", error: { code: "forbidden" } });
    expect(await operatorB.request("siteKey.get")).toMatchObject({ kind: "error", error: { code: "forbidden" } });
    const r = body<{ siteKey: string; certFingerprint: string; keyId: string }>(await adminB.request("siteKey.get"));
    const decoded = decodeSiteKey(r.siteKey);
    expect(decoded.url).toBe(`wss://127.0.0.1:${service.channelPort}/devices`);
    expect(Buffer.from(decoded.certFingerprint ?? []).toString("hex")).toBe(service.tls.fingerprint);
    expect(Buffer.from(decoded.keyId).toString("hex")).toBe(r.keyId);
    siteKeyText = r.siteKey;
    // The site key never appears in a log line or in anything the console relayed in clear.
    expect(lines.some((l) => l.includes(siteKeyText.slice(10, 40)))).toBe(false);
    expect(consoleServer.relayed.length).toBeGreaterThan(0);
    const relayedText = consoleServer.relayed.map((f) => f.frame).join("\n");
    const relayedBytes = Buffer.concat(consoleServer.relayed.map((f) => Buffer.from(f.frame, "base64url")));
    expect(relayedText.includes(siteKeyText.slice(10, 40))).toBe(false);
    for (const secret of [Buffer.from(siteKeyText), Buffer.from(decoded.key)])
      expect(relayedBytes.includes(secret)).toBe(false);
  });

  it("50 devices appear: Veil devices get their own keys and come online, UniFi devices wait on the default key as pending", async () => {
    const common = {
      devices: 25,
      admin: false,
      discovery: "off",
      timeScale: SCALE,
      startSpreadMs: 1000,
      rebootMs: 60_000,
      faultRate: 0,
    } as const;
    [unifiSim, veilSim] = await Promise.all([
      startSimulator({
        ...common,
        log: (line) => unifiLog.push(`${new Date().toISOString()} ${line}`),
        seed: 11,
        informUrl: `http://127.0.0.1:${service.informPort}/inform`,
        cipher: "mixed",
        compression: "mixed",
      }),
      startSimulator({ ...common, seed: 12, siteKey: siteKeyText }),
    ]);
    await waitUntil(() => service.ctx.inventory.devices.size === 50, 15_000, "50 devices in the inventory");
    await waitUntil(() => veilSim.devices.every((d) => status(d.mac) === "online"), 15_000, "Veil devices online");
    const all = await list(viewerB);
    expect(all.total).toBe(50);
    expect(all.counts).toEqual({ online: 25, offline: 0, pending: 25 });
    const pending = await list(viewerB, { status: "pending" });
    expect(new Set(pending.devices.map((d) => d.mac))).toEqual(new Set(unifiSim.devices.map((d) => d.mac)));
    expect(pending.devices.every((d) => d.dialect === "unifi")).toBe(true);
    for (const d of veilSim.devices) expect(d.veil.deviceKey?.type).toBe("device");
    // Search, sort and model filter run on the companion.
    const model = veilSim.devices[0]?.spec.model ?? "";
    const byModel = await list(viewerB, { model });
    expect(byModel.devices.length).toBeGreaterThan(0);
    expect(byModel.devices.every((d) => d.model === model)).toBe(true);
    const searched = await list(viewerB, { search: veilSim.devices[3]?.mac.slice(-8) ?? "" });
    expect(searched.devices.map((d) => d.mac)).toContain(veilSim.devices[3]?.mac);
    const sorted = await list(viewerB, { sort: "mac", order: "desc", limit: 10 });
    expect(sorted.devices.map((d) => d.mac)).toEqual([...sorted.devices.map((d) => d.mac)].sort().reverse());
  }, 30_000);

  it("UniFi adoption (operator) moves devices off the default key; a viewer cannot adopt", async () => {
    const first = unifiSim.devices[0]?.mac ?? "";
    expect(await viewerB.request("devices.adopt", { mac: first })).toMatchObject({
      kind: "error",
      error: { code: "forbidden" },
    });
    for (const d of unifiSim.devices)
      expect(body<TDeviceCommandRecord>(await operatorB.request("devices.adopt", { mac: d.mac })).status).toBe(
        "queued",
      );
    await waitUntil(
      () => unifiSim.devices.every((d) => d.unifi.authkey !== undefined && status(d.mac) === "online"),
      15_000,
      "UniFi devices adopted",
    );
    for (const d of unifiSim.devices) expect(service.ctx.inventory.devices.get(d.mac)?.authkey).toBe(d.unifi.authkey);
    expect((await list(viewerB)).counts).toEqual({ online: 50, offline: 0, pending: 0 });
    expect(service.ctx.counters.get("unifi.adopted")).toBe(25);
  }, 30_000);

  it("devices.get returns details, interfaces, clients and a history series; devices.watch streams coalesced changes", async () => {
    const sim = unifiSim.devices[2];
    if (!sim) throw new Error("no device");
    const detail = await get(sim.mac);
    expect(detail.summary).toMatchObject({ mac: sim.mac, model: sim.spec.model, status: "online", dialect: "unifi" });
    expect(detail.interfaces.length).toBe(sim.interfaces.length);
    expect(detail.clientsTotal).toBeGreaterThanOrEqual(0);
    expect(detail.history.stepMs).toBe(60_000);
    expect(detail.history.cpu.filter((v) => v !== null).length).toBeGreaterThanOrEqual(1);
    expect(detail.history.rxBps.at(-1)).toBeGreaterThan(0);
    const sub = await viewerB.request("devices.watch", { intervalMs: 250 });
    const before = viewerB.events.length;
    await waitUntil(() => viewerB.events.length >= before + 3, 5000, "three change events");
    const ev = viewerB.events.at(-1);
    if (ev?.kind !== "event") throw new Error("expected an event");
    const changed = ev.body as TDevicesChanged;
    expect(ev.type).toBe("devices.changed");
    expect(changed.resync || changed.devices.length > 0).toBe(true);
    expect(changed.counts).toEqual({ online: 50, offline: 0, pending: 0 });
    const id = body<{ subscriptionId: string }>(sub).subscriptionId;
    expect(await viewerB.request("subscription.cancel", { subscriptionId: id })).toMatchObject({
      kind: "result",
      body: { cancelled: true },
    });
    // Watching only the rows on screen: events name only those devices.
    const rows = [veilSim.devices[0]?.mac ?? "", unifiSim.devices[1]?.mac ?? ""];
    const sub2 = await viewerB.request("devices.watch", { intervalMs: 200, macs: rows });
    const mark = viewerB.events.length;
    await waitUntil(() => viewerB.events.length >= mark + 3, 5000, "filtered events");
    const named = viewerB.events
      .slice(mark)
      .flatMap((e) => (e.kind === "event" ? (e.body as TDevicesChanged).devices.map((d) => d.mac) : []));
    expect(named.length).toBeGreaterThan(0);
    for (const mac of named) expect(rows).toContain(mac);
    await viewerB.request("subscription.cancel", {
      subscriptionId: body<{ subscriptionId: string }>(sub2).subscriptionId,
    });
  });

  it("reboot (operator, both dialects): typed result, the device goes offline, an outage opens and closes when it is back", async () => {
    const targets = [veilSim.devices[5], unifiSim.devices[5]];
    for (const sim of targets) {
      if (!sim) throw new Error("no device");
      expect(await viewerB.request("devices.reboot", { mac: sim.mac })).toMatchObject({
        kind: "error",
        error: { code: "forbidden" },
      });
      const r = body<TDeviceCommandRecord>(await operatorB.request("devices.reboot", { mac: sim.mac }));
      expect(r).toMatchObject({
        mac: sim.mac,
        command: "reboot",
        status: "done",
        accountId: operatorB.options.account.accountId,
      });
    }
    for (const sim of targets)
      await waitUntil(() => status(sim?.mac ?? "") === "offline", 5000, "device offline after reboot");
    for (const sim of targets) await waitUntil(() => status(sim?.mac ?? "") === "online", 10_000, "device back online");
    for (const sim of targets) {
      const out = body<{ outages: TOutage[] }>(await viewerB.request("outages.list", { mac: sim?.mac }));
      expect(out.outages.length).toBeGreaterThanOrEqual(1);
      expect(out.outages[0]?.end).not.toBeNull();
      expect((await get(sim?.mac ?? "")).commands[0]).toMatchObject({ command: "reboot", status: "done" });
    }
  }, 30_000);

  it("rename, locate and setInterval: typed results, recorded; unknown MAC and pending devices get typed errors", async () => {
    const v = veilSim.devices[7];
    if (!v) throw new Error("no device");
    expect(
      body<TDeviceCommandRecord>(await operatorB.request("devices.rename", { mac: v.mac, name: "lobby-ap" })).status,
    ).toBe("done");
    expect(v.hostname).toBe("lobby-ap");
    expect((await get(v.mac)).summary.name).toBe("lobby-ap");
    expect(
      body<TDeviceCommandRecord>(await operatorB.request("devices.locate", { mac: v.mac, enabled: true })).status,
    ).toBe("done");
    expect(v.locating).toBe(true);
    expect(
      body<TDeviceCommandRecord>(await adminB.request("devices.setInterval", { mac: v.mac, seconds: 5 })).status,
    ).toBe("done");
    expect(v.veil.intervalSec).toBe(5);
    const missing = body<TDeviceCommandRecord>(await operatorB.request("devices.reboot", { mac: "02:00:00:00:00:99" }));
    expect(missing).toMatchObject({ status: "failed", error: { code: "not_found" } });
    expect(await viewerB.request("devices.get", { mac: "02:00:00:00:00:99" })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
    expect(await operatorB.request("devices.rename", { mac: v.mac, name: "bad name!" })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
  });

  it("drops and counts malformed, oversized, replayed and wrongly keyed frames without disturbing anyone", async () => {
    const c = service.ctx.counters;
    const port = service.informPort;
    const sim = unifiSim.devices[9];
    if (!sim?.unifi.authkey) throw new Error("no adopted device");
    const before = {
      malformed: c.get("unifi.malformed"),
      auth: c.get("unifi.auth_failed"),
      big: c.get("unifi.too_large"),
      replay: c.get("unifi.replayed"),
    };
    expect(await postInform(port, new Uint8Array(100).fill(7))).toBe(400);
    expect(await postInform(port, new Uint8Array(300 * 1024))).toBe(413);
    const inform = {
      mac: sim.mac,
      ip: "10.0.0.9",
      model: "U7PG2",
      version: "6.6.55",
      hostname: "x",
      uptime: 5,
      if_table: [],
    };
    // Default key for an adopted MAC (anyone can make one), then a wrong authkey.
    expect(await postInform(port, encodeInformJson(inform, { mac: sim.mac, key: INFORM_DEFAULT_KEY }))).toBe(400);
    expect(await postInform(port, encodeInformJson(inform, { mac: sim.mac, key: authkeyToKey("ff".repeat(16)) }))).toBe(
      400,
    );
    // A valid packet twice: the second is a replay.
    const good = encodeInformJson(inform, { mac: sim.mac, key: authkeyToKey(sim.unifi.authkey) });
    expect(await postInform(port, good)).toBe(200);
    expect(await postInform(port, good)).toBe(400);
    expect(c.get("unifi.malformed")).toBe(before.malformed + 1);
    expect(c.get("unifi.too_large")).toBe(before.big + 1);
    expect(c.get("unifi.auth_failed")).toBe(before.auth + 2);
    expect(c.get("unifi.replayed")).toBe(before.replay + 1);

    // Veil channel: garbage hello, a hello under a wrong site key, and a replayed data frame.
    const site = decodeSiteKey(siteKeyText);
    const connect = (): Promise<{ ws: WebSocket; challenge: Uint8Array }> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(site.url, { rejectUnauthorized: false });
        ws.once("message", (d: Buffer) => resolve({ ws, challenge: new Uint8Array(d) }));
        ws.once("error", reject);
      });
    const closed = (ws: WebSocket): Promise<void> =>
      new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once("close", () => r())));
    let conn = await connect();
    conn.ws.send(new Uint8Array(64).fill(1));
    await closed(conn.ws);
    conn = await connect();
    const wrong = new DeviceChannelClient({
      mac: "02:99:00:00:00:01",
      credential: { type: "site", keyId: site.keyId, key: new Uint8Array(32).fill(9) },
    });
    conn.ws.send(wrong.hello(conn.challenge, { kind: "ap", model: "X", firmware: "1", hostname: "evil" }));
    await closed(conn.ws);
    expect(c.get("veil.hello_malformed")).toBeGreaterThanOrEqual(1);
    expect(c.get("veil.hello_auth_failed")).toBeGreaterThanOrEqual(1);
    // A device enrols with the site key, then replays one of its own frames in a device-key session.
    conn = await connect();
    const mac = "02:99:00:00:00:02";
    const enrol = new DeviceChannelClient({ mac, credential: { type: "site", keyId: site.keyId, key: site.key } });
    conn.ws.send(enrol.hello(conn.challenge, { kind: "ap", model: "U6PRO", firmware: "6.6", hostname: "t" }));
    const issued = await new Promise<Uint8Array>((r) => conn.ws.once("message", (d: Buffer) => r(new Uint8Array(d))));
    expect(enrol.receive(issued).type).toBe("key_issue");
    conn.ws.close();
    const key = enrol.issuedKey;
    if (!key) throw new Error("no key issued");
    conn = await connect();
    const dev = new DeviceChannelClient({ mac, credential: key });
    conn.ws.send(dev.hello(conn.challenge, { kind: "ap", model: "U6PRO", firmware: "6.6", hostname: "t" }));
    await new Promise((r) => conn.ws.once("message", r)); // welcome
    const replayBefore = c.get("veil.replayed");
    const st = { ...(service.ctx.inventory.devices.get(veilSim.devices[0]?.mac ?? "")?.state ?? ({} as never)), mac };
    const frame = dev.send({ type: "inform", seq: 0, state: st });
    conn.ws.send(frame);
    conn.ws.send(frame);
    await waitUntil(() => c.get("veil.replayed") === replayBefore + 1, 3000, "replay counted");
    // The same MAC cannot enrol again with the site key (no identity takeover).
    const again = await connect();
    const takeover = new DeviceChannelClient({ mac, credential: { type: "site", keyId: site.keyId, key: site.key } });
    again.ws.send(takeover.hello(again.challenge, { kind: "ap", model: "U6PRO", firmware: "6.6", hostname: "t" }));
    await closed(again.ws);
    expect(c.get("veil.reenrol_refused")).toBeGreaterThanOrEqual(1);
    conn.ws.close();
    // Counters are visible to an operator end to end.
    const stats = body<{ counters: Record<string, number> }>(await viewerB.request("devices.stats"));
    expect(stats.counters["unifi.replayed"]).toBeGreaterThanOrEqual(1);
    // Nobody else was disturbed.
    expect(unifiSim.stats().informErrors, `${unifiLog.join("\n")}\n${JSON.stringify(stats.counters)}`).toBe(0);
  }, 30_000);

  it("rate-limits a flooding device while the other devices keep reporting", async () => {
    const c = service.ctx.counters;
    const port = service.informPort;
    const floodMac = "02:99:00:00:00:33";
    const packet = (): Uint8Array =>
      encodeInformJson(
        {
          mac: floodMac,
          ip: "10.0.0.33",
          model: "U7PG2",
          version: "6.6.55",
          hostname: "flood",
          uptime: 5,
          if_table: [],
        },
        { mac: floodMac, key: INFORM_DEFAULT_KEY },
      );
    const seenBefore = new Map(
      unifiSim.devices.map((d) => [d.mac, service.ctx.inventory.devices.get(d.mac)?.lastSeen ?? 0]),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8, localAddress: "127.0.0.77" });
    const statuses: (number | string)[] = [];
    const start = Date.now();
    // Informs from one device over 8 keep-alive connections, as fast as they go, for 1.5 s: several
    // of the other devices' inform intervals (200 ms), however fast this machine sends.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() - start < 1500) statuses.push(await postInform(port, packet(), "127.0.0.77", agent));
      }),
    );
    const seconds = (Date.now() - start) / 1000;
    agent.destroy();
    const accepted = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    console.log(
      `flood: ${statuses.length} informs in ${seconds.toFixed(1)} s from one device, ${accepted} accepted, ${limited} refused (429)`,
    );
    // Its bucket: burst 40, then 20/s. However slow this machine sends, the flood went past it
    // (a count of informs sent would fail on a slow machine without saying anything of the limit).
    expect(accepted).toBeLessThanOrEqual(40 + Math.ceil(20 * seconds) + 2);
    expect(limited).toBeGreaterThan(0);
    expect(accepted + limited).toBe(statuses.length);
    expect(c.get("unifi.rate_limited_device")).toBeGreaterThan(0);
    // Every other UniFi device reported during the flood.
    for (const d of unifiSim.devices) {
      if (d.mac === unifiSim.devices[5]?.mac) continue;
      expect(service.ctx.inventory.devices.get(d.mac)?.lastSeen ?? 0).toBeGreaterThan(seenBefore.get(d.mac) ?? 0);
    }
    const offline = new Set((await list(viewerB, { status: "offline" })).devices.map((d) => d.mac));
    for (const d of [...unifiSim.devices, ...veilSim.devices]) expect(offline.has(d.mac)).toBe(false);
  }, 30_000);

  it("rolls the site key (admin only): the old key stops enrolling, the new one works, adopted devices are unaffected", async () => {
    expect(await operatorB.request("siteKey.roll", { graceMinutes: 0 })).toMatchObject({
      kind: "error",
      error: { code: "forbidden" },
    });
    const rolled = body<{ siteKey: string; keyId: string }>(await adminB.request("siteKey.roll", { graceMinutes: 0 }));
    expect(rolled.siteKey).not.toBe(siteKeyText);
    expect(body<{ siteKey: string }>(await adminB.request("siteKey.get")).siteKey).toBe(rolled.siteKey);
    const hello = async (text: string, mac: string): Promise<string> => {
      const site = decodeSiteKey(text);
      const ws = new WebSocket(site.url, { rejectUnauthorized: false });
      const challenge = await new Promise<Uint8Array>((r) => ws.once("message", (d: Buffer) => r(new Uint8Array(d))));
      const client = new DeviceChannelClient({ mac, credential: { type: "site", keyId: site.keyId, key: site.key } });
      ws.send(client.hello(challenge, { kind: "switch", model: "US24", firmware: "6", hostname: "n" }));
      return new Promise((r) => {
        ws.once("message", (d: Buffer) => {
          r(client.receive(new Uint8Array(d)).type);
          ws.close();
        });
        ws.once("close", () => r("closed"));
      });
    };
    const refusedBefore = service.ctx.counters.get("veil.hello_auth_failed");
    expect(await hello(siteKeyText, "02:99:00:00:00:41")).toBe("closed");
    expect(service.ctx.counters.get("veil.hello_auth_failed")).toBe(refusedBefore + 1);
    expect(await hello(rolled.siteKey, "02:99:00:00:00:42")).toBe("key_issue");
    const since = Date.now();
    await waitUntil(
      () => veilSim.devices.every((d) => (service.ctx.inventory.devices.get(d.mac)?.lastSeen ?? 0) > since),
      5000,
      "Veil devices still reporting",
    );
    // Counters reach `veil-companion status` through devices-status.json.
    service.sweep();
    await waitUntil(
      () => (readStatus(state.dir).devices?.counters["veil.hello_auth_failed"] ?? 0) >= 1,
      12_000,
      "status shows counters",
    );
  }, 30_000);

  it("restarts on the same store: inventory, keys and history are back, and devices keep reporting under their own keys", async () => {
    const ports = { informPort: service.informPort, channelPort: service.channelPort };
    const macs = [...unifiSim.devices, ...veilSim.devices].map((d) => d.mac);
    companion.stop();
    await companion.finished;
    companion = runCompanion(state.dir, logger, { devices: deviceOptions(ports) });
    service = await (companion.devices ?? Promise.reject(new Error("no device service")));
    for (const mac of macs) {
      const d = service.ctx.inventory.devices.get(mac);
      expect(d?.adopted).toBe(true);
      expect(d?.state?.model).toBeTruthy();
      expect(d?.history?.samples(Date.now()).length).toBeGreaterThanOrEqual(1);
    }
    expect(service.ctx.inventory.outages.some((o) => o.mac === veilSim.devices[5]?.mac && o.end !== null)).toBe(true);
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 5000, "companion online again");
    const since = Date.now();
    await waitUntil(
      () => macs.every((m) => (service.ctx.inventory.devices.get(m)?.lastSeen ?? 0) > since && status(m) === "online"),
      15_000,
      "all 50 report after restart",
    );
    expect(service.ctx.counters.get("unifi.auth_failed")).toBe(0);
    expect(service.ctx.counters.get("unifi.accepted_default_key")).toBe(0);
    const b = browser(makeAccount(), "viewer");
    await b.open();
    // Every simulated device is listed online again. (Devices that earlier tests made, such as
    // the flooding one, may still count as online for a while: the total is at least 50.)
    const online = await list(b, { status: "online" });
    const listed = new Set(online.devices.map((d) => d.mac));
    expect(macs.filter((m) => !listed.has(m))).toEqual([]);
    expect(online.counts.online).toBeGreaterThanOrEqual(50);
    b.dispose();
    for (const old of [adminB, operatorB, viewerB]) old.dispose();
    adminB = browser(admin, "admin");
    operatorB = browser(makeAccount(), "operator");
    viewerB = browser(makeAccount(), "viewer");
  }, 40_000);
});
