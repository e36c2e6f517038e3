import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { startSimulator, type SimulatorHandle } from "../../simulator/src/index";
import type { DeviceService } from "../src/devices/device-service";
import type { RunningCompanion } from "../src/run/start-companion";
import { ZTerminalOutputEventSchema, type TE2EResponse, type TTerminalOutputEvent } from "../src/protocol";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, runCompanion, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, signGrant, type TestAccount, type TestInstance } from "./harness/fixtures";
import { BrowserSession, waitUntil } from "./harness/browser";
import { realChannel, restoreBrowserGlobals } from "./harness/real-channel";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

const SCALE = 0.05;
const IDLE_MS = 1500;
/** Shorter than IDLE_MS: a terminal whose browser stopped acknowledging is ended for that, not for idling. */
const STALL_MS = 1000;
/** The push-stream window here (the default is 1 MiB): a quarter of it must be acknowledged for output to go on. */
const WINDOW = 256 * 1024;
const b64 = (text: string): string => Buffer.from(text).toString("base64url");
const result = <T>(r: TE2EResponse): T => {
  if (r.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(r)}`);
  return r.body as T;
};

/** Everything one terminal printed so far, and how it closed. */
function screen(b: BrowserSession, id: string): { text: string; closed?: TTerminalOutputEvent; ended?: string } {
  let text = "";
  let closed: TTerminalOutputEvent | undefined;
  let ended: string | undefined;
  for (const e of b.events) {
    if (e.subscriptionId !== id) continue;
    if (e.kind === "end") ended = e.reason;
    else {
      expect(e.type).toBe("terminal.output");
      const body = e.body as TTerminalOutputEvent;
      if (body.kind === "data") text += Buffer.from(body.data, "base64url").toString("utf8");
      else closed = body;
    }
  }
  return { text, ...(closed ? { closed } : {}), ...(ended ? { ended } : {}) };
}

describe("terminal: a browser's shell on a simulated device, over the E2E session and the Veil device channel", () => {
  const cert = makeSelfSignedCert();
  const consoleServer = new TestConsole(cert);
  const state = tempStateDir();
  const { logger, lines } = captureLogger();
  let admin: TestAccount;
  let instance: TestInstance;
  let companion: RunningCompanion;
  let service: DeviceService;
  let veilSim: SimulatorHandle;
  let unifiSim: SimulatorHandle;
  const open: BrowserSession[] = [];

  const browser = async (role: "viewer" | "auditor" | "operator" | "admin"): Promise<BrowserSession> => {
    const account = role === "admin" ? admin : makeAccount();
    const b = new BrowserSession(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: admin, account, instanceId: instance.instanceId, role }),
    });
    await b.open();
    open.push(b);
    return b;
  };
  const veilMac = (i: number): string => veilSim.devices[i]?.mac ?? "";
  const openTerminal = async (b: BrowserSession, mac: string): Promise<string> =>
    result<{ subscriptionId: string }>(await b.request("terminal.open", { mac, cols: 100, rows: 30 })).subscriptionId;
  const type = async (b: BrowserSession, id: string, text: string): Promise<void> => {
    expect(
      result<{ accepted: number }>(await b.request("terminal.input", { subscriptionId: id, data: b64(text) })),
    ).toEqual({
      accepted: Buffer.byteLength(text),
    });
  };

  beforeAll(async () => {
    await consoleServer.start();
    admin = makeAccount();
    instance = await makeInstance(admin, "terminal-site");
    consoleServer.instances.set(instance.instanceId, instance.record);
    await enrollInto(state.dir, instance.enrollment(consoleServer.url, cert.pin), logger);
    companion = runCompanion(state.dir, logger, {
      devices: {
        bindHost: "127.0.0.1",
        publicHost: "127.0.0.1",
        informPort: 0,
        channelPort: 0,
        intervalSec: 4,
        timeScale: SCALE,
      },
      terminalLimits: { idleTimeoutMs: IDLE_MS },
      pushStreamLimits: { stallMs: STALL_MS, windowBytes: WINDOW },
    });
    service = await (companion.devices ?? Promise.reject(new Error("no device service")));
    await waitUntil(() => consoleServer.isOnline(instance.instanceId), 5000, "companion online");
    const adminB = await browser("admin");
    const siteKey = result<{ siteKey: string }>(await adminB.request("siteKey.get")).siteKey;
    const common = {
      devices: 3,
      admin: false,
      discovery: "off",
      timeScale: SCALE,
      startSpreadMs: 200,
      faultRate: 0,
    } as const;
    [veilSim, unifiSim] = await Promise.all([
      startSimulator({ ...common, seed: 61, siteKey, rebootMs: 2000 }),
      startSimulator({ ...common, devices: 1, seed: 62, informUrl: `http://127.0.0.1:${service.informPort}/inform` }),
    ]);
    await waitUntil(
      () => veilSim.devices.every((d) => service.ctx.channels.has(d.mac)) && service.ctx.inventory.devices.size === 4,
      15_000,
      "Veil devices on their channel, the UniFi device reporting",
    );
  }, 40_000);

  afterAll(async () => {
    for (const b of open) b.dispose();
    await Promise.all([veilSim.stop(), unifiSim.stop()]);
    companion.stop();
    await companion.finished;
    await consoleServer.stop();
    state.cleanup();
  }, 30_000);

  it("an operator opens a shell, types `uname -a`, `help` and `stty size`, and gets the device's answers as they arrive", async () => {
    const b = await browser("operator");
    const device = veilSim.devices[0];
    if (!device) throw new Error("no device");
    const id = await openTerminal(b, device.mac);
    await waitUntil(() => screen(b, id).text.includes(`${device.hostname}# `), 5000, "banner and prompt");
    expect(screen(b, id).text).toContain("BusyBox");
    await type(b, id, "uname -a\r");
    await waitUntil(() => screen(b, id).text.includes(`Linux ${device.hostname} `), 5000, "uname output");
    await type(b, id, "help\r");
    await waitUntil(() => screen(b, id).text.includes("commands: help, uname"), 5000, "help output");
    await type(b, id, "stty size\r");
    await waitUntil(() => screen(b, id).text.includes("\r\n30 100\r\n"), 5000, "window size from open");
    expect(result(await b.request("terminal.resize", { subscriptionId: id, cols: 120, rows: 40 }))).toEqual({
      resized: true,
    });
    await type(b, id, "stty size\r");
    await waitUntil(() => screen(b, id).text.includes("\r\n40 120\r\n"), 5000, "window size after resize");
    // Events of one stream carry consecutive sequence numbers from 0.
    const seqs = b.events
      .filter((e) => e.kind === "event" && e.subscriptionId === id)
      .map((e) => (e.kind === "event" ? e.seq : -1));
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(veilSim.stats().terminalsOpen).toBe(1);
    expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
    await waitUntil(() => screen(b, id).ended === "cancelled", 5000, "stream end");
    const closed = screen(b, id).closed;
    expect(closed).toMatchObject({ kind: "closed", reason: "closed" });
    expect(closed?.kind === "closed" && closed.bytesIn).toBe(
      Buffer.byteLength("uname -a\rhelp\rstty size\rstty size\r"),
    );
    expect(closed?.kind === "closed" && closed.bytesOut).toBeGreaterThan(100);
    await waitUntil(() => veilSim.stats().terminalsOpen === 0, 5000, "device shell closed");
    expect(companion.terminals.size).toBe(0);
    // Open and close are logged with who, which device and the byte counts; keystrokes never are.
    const closeLine = lines.find((l) => l.includes("terminal closed") && l.includes(id));
    expect(closeLine).toContain(device.mac);
    expect(closeLine).toContain(`"bytesIn":${Buffer.byteLength("uname -a\rhelp\rstty size\rstty size\r")}`);
    expect(lines.some((l) => l.includes("uname"))).toBe(false);
    // The audit log holds the requests and the terminal's own open and close records, with the
    // byte counts and the signer of the grant; no record carries what was typed.
    companion.audit.flush();
    const records = companion.audit.read({ limit: 500 }).records;
    const mine = records.filter((r) => r.target?.includes(id));
    expect(mine.map((r) => r.type)).toEqual(
      expect.arrayContaining(["terminal.session.open", "terminal.session.close", "terminal.close"]),
    );
    // Keystroke batches that went through are summed up in the close record, not one record each.
    expect(records.filter((r) => r.type === "terminal.input" && r.result === "ok")).toEqual([]);
    const closeRecord = mine.find((r) => r.type === "terminal.session.close");
    expect(closeRecord).toMatchObject({
      kind: "event",
      role: "operator",
      result: "ok",
      code: "closed",
      metrics: { bytesIn: Buffer.byteLength("uname -a\rhelp\rstty size\rstty size\r") },
    });
    expect(closeRecord?.target).toContain(device.mac);
    expect(closeRecord?.signer).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(records)).not.toContain("uname");
  }, 30_000);

  it("a fast typist: 200 keystrokes, each its own input, all echoed in order (the terminal budget, not the inform budget)", async () => {
    const b = await browser("operator");
    const id = await openTerminal(b, veilMac(1));
    await waitUntil(() => screen(b, id).text.includes("# "), 5000, "prompt");
    const typed = Array.from({ length: 200 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    // Sent back to back without waiting: the device answers every one with its own frame,
    // far above the 5 frames/s (burst 20) a device may spend on informs.
    const answers = [...typed].map((ch) => b.request("terminal.input", { subscriptionId: id, data: b64(ch) }));
    for (const r of await Promise.all(answers)) expect(result(r)).toEqual({ accepted: 1 });
    await waitUntil(() => screen(b, id).text.endsWith(typed), 10_000, "every keystroke echoed");
    expect(service.ctx.counters.get("veil.rate_limited_device") ?? 0).toBe(0);
    expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
  }, 20_000);

  it("viewers and auditors are refused by the companion, whatever the console allowed", async () => {
    for (const role of ["viewer", "auditor"] as const) {
      const b = await browser(role);
      expect(await b.request("terminal.open", { mac: veilMac(1), cols: 80, rows: 24 })).toMatchObject({
        kind: "error",
        error: { code: "forbidden" },
      });
    }
    expect(veilSim.stats().terminalsOpen).toBe(0);
  });

  it("refuses a second terminal under an id that already names an open one (another session's)", async () => {
    const a = await browser("operator");
    const other = await browser("operator");
    const id = randomUUID();
    const first = await a.request("terminal.open", { mac: veilMac(2), cols: 80, rows: 24 }, { id });
    expect(first.kind).toBe("result");
    expect(await other.request("terminal.open", { mac: veilMac(2), cols: 80, rows: 24 }, { id })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
    // The first terminal is untouched and still answers its owner.
    await type(a, id, "x");
    expect(await a.request("terminal.close", { subscriptionId: id })).toMatchObject({ kind: "result" });
  });

  it("caps input size, hides other sessions' terminals, and refuses a third terminal on one device", async () => {
    const a = await browser("operator");
    const other = await browser("operator");
    const id = await openTerminal(a, veilMac(1));
    const big = Buffer.alloc(4097, 0x61).toString("base64url");
    expect(await a.request("terminal.input", { subscriptionId: id, data: big })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
    expect(await a.request("terminal.input", { subscriptionId: id, data: "" })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
    // Refused keystroke batches do get a record each.
    companion.audit.flush();
    expect(
      companion.audit
        .read({ limit: 500 })
        .records.filter((r) => r.type === "terminal.input" && r.code === "bad_request").length,
    ).toBeGreaterThanOrEqual(2);
    // Another operator's session cannot type into, resize or close this terminal.
    for (const [t, body] of [
      ["terminal.input", { subscriptionId: id, data: b64("reboot\r") }],
      ["terminal.resize", { subscriptionId: id, cols: 80, rows: 24 }],
    ] as const)
      expect(await other.request(t, body)).toMatchObject({ kind: "error", error: { code: "bad_request" } });
    expect(result(await other.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: false });
    const second = await openTerminal(other, veilMac(1));
    expect(await other.request("terminal.open", { mac: veilMac(1), cols: 80, rows: 24 })).toMatchObject({
      kind: "error",
      error: { code: "rate_limited", message: "Too many terminals are open on this device." },
    });
    await type(a, id, "hostname\r");
    await waitUntil(() => screen(a, id).text.includes(`${veilSim.devices[1]?.hostname ?? "?"}\r\n`), 5000, "hostname");
    expect(screen(other, second).text).not.toContain("hostname");
    // Nothing of the first session's terminal reached the other session at all, under any id.
    expect(other.events.filter((e) => e.subscriptionId !== second)).toEqual([]);
    for (const [b, t] of [
      [a, id],
      [other, second],
    ] as const)
      expect(result(await b.request("terminal.close", { subscriptionId: t }))).toEqual({ closed: true });
  }, 20_000);

  /** The events of terminal `id` so far, and the JSON bytes of their bodies after event `after`. */
  const outputOf = (b: BrowserSession, id: string, after = -1): { last: number; bytesAfter: number } => {
    let last = -1;
    let bytesAfter = 0;
    for (const e of b.events) {
      if (e.kind !== "event" || e.subscriptionId !== id) continue;
      last = e.seq;
      if (e.seq > after) bytesAfter += JSON.stringify(e.body).length;
    }
    return { last, bytesAfter };
  };

  it("flow control: a device printing faster than the browser acknowledges waits for it; 1.3 MB of `seq` arrives whole and in order", async () => {
    const b = await browser("operator");
    const device = veilSim.devices[1];
    if (!device) throw new Error("no device");
    const prompt = `${device.hostname}# `;
    const id = await openTerminal(b, device.mac);
    await waitUntil(() => screen(b, id).text.endsWith(prompt), 5000, "prompt");
    // The first acknowledgement turns the window on for this stream.
    b.ack(id, outputOf(b, id).last);
    const paused = service.ctx.counters.get("veil.channel_paused") ?? 0;
    await type(b, id, "seq 1 200000\r");
    // Unacknowledged, the companion sends one window of event bodies and stops reading from the
    // device: the rest waits in the device's buffers.
    await waitUntil(() => outputOf(b, id, 0).bytesAfter > WINDOW - 40_000, 5000, "a window of output");
    await new Promise((r) => setTimeout(r, 400));
    expect(outputOf(b, id, 0).bytesAfter).toBeLessThanOrEqual(WINDOW);
    expect(screen(b, id).text.endsWith(prompt)).toBe(false);
    expect(service.ctx.counters.get("veil.channel_paused") ?? 0).toBeGreaterThan(paused);
    // A malformed acknowledgement is answered as a malformed request, and changes nothing.
    const errors = b.responses.length;
    b.ack(id, 0, { kind: "ack", subscriptionId: id, seq: -1 });
    await waitUntil(() => b.responses.length > errors, 5000, "an answer to the malformed ack");
    expect(b.responses.at(-1)).toMatchObject({ kind: "error", id: null, error: { code: "bad_request" } });
    expect(screen(b, id).text.endsWith(prompt)).toBe(false);
    // A browser acknowledging what it got as it goes gets the rest, and nothing is lost.
    const acking = setInterval(() => b.ack(id, outputOf(b, id).last), 20);
    try {
      await waitUntil(
        () => screen(b, id).text.endsWith(prompt) && screen(b, id).text.length > 1_000_000,
        20_000,
        "the whole output",
      );
    } finally {
      clearInterval(acking);
    }
    const numbers = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\r\n`).join("");
    expect(screen(b, id).text).toContain(`seq 1 200000\r\n${numbers}${prompt}`);
    expect(screen(b, id).ended).toBeUndefined();
    expect(service.ctx.counters.get("veil.rate_limited_device") ?? 0).toBe(0);
    expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
  }, 40_000);

  it("flow control with the console's real browser channel: it acknowledges as it delivers, so `seq 1 200000` flows through a window a fifth its size", async () => {
    const device = veilSim.devices[1];
    if (!device) throw new Error("no device");
    const prompt = `${device.hostname}# `;
    const account = makeAccount();
    const real = await realChannel(consoleServer, {
      instanceId: instance.instanceId,
      instanceBoxPublicKey: instance.box.publicKey,
      account,
      bundle: signGrant({ signer: admin, account, instanceId: instance.instanceId, role: "operator" }),
    });
    try {
      const hello = await real.channel.open();
      expect(hello.streamWindowBytes).toBe(WINDOW);
      let text = "";
      let ended: string | undefined;
      const stream = await real.channel.subscribe(
        "terminal.open",
        { mac: device.mac, cols: 100, rows: 30 },
        "terminal.output",
        ZTerminalOutputEventSchema,
        {
          onEvent: (e) => {
            if (e.kind === "data") text += Buffer.from(e.data, "base64url").toString("utf8");
          },
          onEnd: (reason) => (ended = reason),
        },
      );
      await waitUntil(() => text.endsWith(prompt), 5000, "prompt");
      await real.channel.request("terminal.input", {
        subscriptionId: stream.subscriptionId,
        data: b64("seq 1 200000\r"),
      });
      // Without acknowledgements the stream would stop after one window and end after STALL_MS.
      await waitUntil(() => text.length > 1_000_000 && text.endsWith(prompt), 20_000, "the whole output");
      const numbers = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\r\n`).join("");
      expect(text).toContain(`seq 1 200000\r\n${numbers}${prompt}`);
      expect(ended).toBeUndefined();
      // Besides its two requests and the handshake, the channel sent acknowledgements: the first
      // event's, then one per quarter window (~1.7 MB of events over a 64 KiB quarter).
      const sent = consoleServer.fromBrowsers.filter(
        (f) => f.sessionId === real.channel.sessionId && f.kind === "transport",
      );
      expect(sent.length).toBeGreaterThan(2 + 20);
      stream.cancel();
    } finally {
      real.channel.close();
      restoreBrowserGlobals();
    }
  }, 40_000);

  it("flow control: a browser that stops acknowledging loses its terminal (`overflow`) after the stall limit, and the device is read again", async () => {
    const b = await browser("operator");
    const device = veilSim.devices[1];
    if (!device) throw new Error("no device");
    const id = await openTerminal(b, device.mac);
    await waitUntil(() => screen(b, id).text.endsWith(`${device.hostname}# `), 5000, "prompt");
    b.ack(id, outputOf(b, id).last);
    await type(b, id, "seq 1 300000\r");
    await waitUntil(() => screen(b, id).ended !== undefined, STALL_MS + 5000, "the stalled stream ends");
    // The stream ended at once, with no `closed` event (nothing more can go out on it); the record says why.
    expect(screen(b, id).ended).toBe("error");
    expect(companion.terminals.size).toBe(0);
    expect(companion.terminals.closedRecords.at(-1)).toMatchObject({ terminalId: id, reason: "overflow" });
    await waitUntil(() => veilSim.stats().terminalsOpen === 0, 5000, "device shell closed");
    // Reading resumed: the device's buffered output is read (and dropped) and its informs arrive again.
    const since = Date.now();
    const entry = service.ctx.inventory.devices.get(device.mac);
    await waitUntil(() => (entry?.lastSeen ?? 0) > since, 10_000, "an inform after the terminal ended");
  }, 30_000);

  it("closing the E2E session closes its terminals on the device", async () => {
    const b = await browser("operator");
    const id = await openTerminal(b, veilMac(2));
    await waitUntil(() => veilSim.stats().terminalsOpen === 1, 5000, "device shell open");
    b.sendRaw({ instanceId: instance.instanceId, sessionId: b.sessionId, kind: "close", frame: "" });
    await waitUntil(() => veilSim.stats().terminalsOpen === 0, 5000, "device shell closed");
    expect(companion.terminals.size).toBe(0);
    expect(companion.terminals.closedRecords.at(-1)).toMatchObject({ terminalId: id, reason: "session_closed" });
  });

  it("a UniFi device gets a typed `unavailable` that says why; unknown MACs are a bad request", async () => {
    const b = await browser("operator");
    const unifi = unifiSim.devices[0]?.mac ?? "";
    const r = await b.request("terminal.open", { mac: unifi, cols: 80, rows: 24 });
    expect(r).toMatchObject({ kind: "error", error: { code: "unavailable", retryable: true } });
    expect(r.kind === "error" && r.error.message).toMatch(/UniFi inform/);
    expect(await b.request("terminal.open", { mac: "02:00:00:00:00:99", cols: 80, rows: 24 })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
  });

  it("`exit` ends the terminal; an idle terminal is closed; a rebooting device closes the terminals on it", async () => {
    const b = await browser("operator");
    const exiting = await openTerminal(b, veilMac(0));
    await type(b, exiting, "exit\r");
    await waitUntil(() => screen(b, exiting).ended === "cancelled", 5000, "exit ends the stream");
    expect(screen(b, exiting).closed).toMatchObject({ reason: "exited" });

    const idle = await openTerminal(b, veilMac(0));
    await waitUntil(() => screen(b, idle).ended !== undefined, IDLE_MS * 4, "idle close");
    expect(screen(b, idle).closed).toMatchObject({ reason: "idle" });

    const watcher = await openTerminal(b, veilMac(2));
    const rebooter = await openTerminal(b, veilMac(2));
    await type(b, rebooter, "reboot\r");
    await waitUntil(() => screen(b, watcher).ended !== undefined, 5000, "device offline closes the other terminal");
    expect(screen(b, watcher).closed).toMatchObject({ reason: "device_offline" });
    expect(screen(b, rebooter).closed).toMatchObject({ reason: "exited" });
    expect(companion.terminals.size).toBe(0);
    // Typing into a closed terminal is refused.
    expect(await b.request("terminal.input", { subscriptionId: watcher, data: b64("x") })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
  }, 20_000);
});
