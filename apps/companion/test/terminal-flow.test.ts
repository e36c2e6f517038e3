import { describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { TERMINAL_WINDOW_BYTES, ZTerminalOutputEventSchema } from "../src/protocol";
import { makeAccount, signGrant } from "./harness/fixtures";
import { type BrowserSession, waitUntil } from "./harness/browser";
import { adoptRawDevice, nextOfType, nextTerminalOpen } from "./harness/raw-veil-device";
import { realChannel, restoreBrowserGlobals } from "./harness/real-channel";
import { b64, outputOf, result, screen, useTerminalSite, WINDOW } from "./harness/terminal-site";

useNativePrimitives();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Frames and bytes per frame of the small-frame printer. */
const FRAMES = 2500;
const LINE = 200;
const numbers = (last: number): string => Array.from({ length: last }, (_, i) => `${i + 1}\r\n`).join("");

describe("terminal flow control: a device printing faster than its browser reads waits for it", () => {
  // Long stall and idle limits: the browsers here hold their terminals back on purpose.
  const site = useTerminalSite({ legacyDevice: true, stallMs: 20_000, idleMs: 20_000 });
  const { browser, openTerminal, type } = site;
  const paused = (): number => site.service.ctx.counters.get("veil.channel_paused") ?? 0;
  /** Counts the credit (`terminal_ack` bytes) the companion sends down `mac`'s channel from now on. */
  const creditSent = (mac: string): { bytes: () => number } => {
    const live = site.service.ctx.channels.get(mac);
    if (live === undefined) throw new Error("device offline");
    let bytes = 0;
    const send = live.send.bind(live);
    live.send = (message) => {
      if (message.type === "terminal_ack") bytes += message.bytes;
      return send(message);
    };
    return { bytes: () => bytes };
  };

  /** Opens a terminal on `mac`, turns its window on, starts `seq 1 <last>` and waits until a window of output is held back. */
  const heldBack = async (b: BrowserSession, mac: string, hostname: string, last: number): Promise<string> => {
    const id = await openTerminal(b, mac);
    await waitUntil(() => screen(b, id).text.endsWith(`${hostname}# `), 5000, "prompt");
    // The first acknowledgement turns the window on for this stream.
    b.ack(id, outputOf(b, id).last);
    await type(b, id, `seq 1 ${last}\r`);
    await waitUntil(() => outputOf(b, id, 0).bytesAfter > WINDOW - 40_000, 5000, "a window of output");
    await sleep(400);
    // Unacknowledged, the companion sends one window of event bodies and no more.
    expect(outputOf(b, id, 0).bytesAfter).toBeLessThanOrEqual(WINDOW);
    expect(screen(b, id).text.endsWith(`${hostname}# `)).toBe(false);
    return id;
  };

  /** Acknowledges as the events come until the whole output of `seq 1 <last>` and the prompt are there. */
  const drain = async (b: BrowserSession, id: string, hostname: string, last: number): Promise<void> => {
    const acking = setInterval(() => b.ack(id, outputOf(b, id).last), 20);
    try {
      await waitUntil(() => screen(b, id).text.endsWith(`${hostname}# `), 20_000, "the whole output");
    } finally {
      clearInterval(acking);
    }
    expect(screen(b, id).text).toContain(`seq 1 ${last}\r\n${numbers(last)}${hostname}# `);
    expect(screen(b, id).ended).toBeUndefined();
  };

  it("a device with per-terminal flow control: only that terminal waits; the device's informs and its other terminal go on; 1.3 MB arrives whole and in order", async () => {
    const b = await browser("operator");
    const device = site.veilSim.devices[1];
    if (!device) throw new Error("no device");
    expect(site.service.ctx.channels.get(device.mac)?.terminalWindow).toBe(TERMINAL_WINDOW_BYTES);
    const before = paused();
    const credit = creditSent(device.mac);
    const id = await heldBack(b, device.mac, device.hostname, 200_000);
    // The companion returns no credit while the browser is behind: the device waits.
    const held = credit.bytes();
    await sleep(300);
    expect(credit.bytes()).toBe(held);
    // The device's channel is read on: an inform arrives, and a second terminal answers at once.
    const since = Date.now();
    const entry = site.service.ctx.inventory.devices.get(device.mac);
    await waitUntil(() => (entry?.lastSeen ?? 0) > since, 5000, "an inform while the terminal waits");
    const other = await openTerminal(b, device.mac);
    await waitUntil(() => screen(b, other).text.endsWith(`${device.hostname}# `), 5000, "the other prompt");
    await type(b, other, "hostname\r");
    await waitUntil(() => screen(b, other).text.includes(`hostname\r\n${device.hostname}\r\n`), 5000, "its answer");
    expect(paused()).toBe(before);
    expect(screen(b, id).text.endsWith(`${device.hostname}# `)).toBe(false);
    // A malformed acknowledgement is answered as a malformed request, and changes nothing.
    const errors = b.responses.length;
    b.ack(id, 0, { kind: "ack", subscriptionId: id, seq: -1 });
    await waitUntil(() => b.responses.length > errors, 5000, "an answer to the malformed ack");
    expect(b.responses.at(-1)).toMatchObject({ kind: "error", id: null, error: { code: "bad_request" } });
    // A browser acknowledging what it got as it goes gets the rest, and nothing is lost.
    await drain(b, id, device.hostname, 200_000);
    expect(site.service.ctx.counters.get("veil.rate_limited_device") ?? 0).toBe(0);
    for (const t of [id, other])
      expect(result(await b.request("terminal.close", { subscriptionId: t }))).toEqual({ closed: true });
  }, 40_000);

  it("a device without it (older firmware): the companion stops reading its channel instead, and the output still arrives whole", async () => {
    const b = await browser("operator");
    const device = site.legacySim?.devices[0];
    if (!device) throw new Error("no legacy device");
    expect(site.service.ctx.channels.get(device.mac)?.terminalWindow).toBeUndefined();
    const before = paused();
    const id = await heldBack(b, device.mac, device.hostname, 200_000);
    expect(paused()).toBeGreaterThan(before);
    await drain(b, id, device.hostname, 200_000);
    expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
  }, 40_000);

  it("the console's real browser channel acknowledges as it delivers, so `seq 1 200000` flows through a window a fifth its size", async () => {
    const device = site.veilSim.devices[1];
    if (!device) throw new Error("no device");
    const prompt = `${device.hostname}# `;
    const account = makeAccount();
    const real = await realChannel(site.consoleServer, {
      instanceId: site.instance.instanceId,
      instanceBoxPublicKey: site.instance.box.publicKey,
      account,
      bundle: signGrant({ signer: site.admin, account, instanceId: site.instance.instanceId, role: "operator" }),
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
      // Without acknowledgements the stream would stop after one window.
      await waitUntil(() => text.length > 1_000_000 && text.endsWith(prompt), 20_000, "the whole output");
      expect(text).toContain(`seq 1 200000\r\n${numbers(200_000)}${prompt}`);
      expect(ended).toBeUndefined();
      // Besides its two requests and the handshake, the channel sent acknowledgements: the first
      // event's, then one per quarter window (~1.7 MB of events over a 64 KiB quarter).
      const sent = site.consoleServer.fromBrowsers.filter(
        (f) => f.sessionId === real.channel.sessionId && f.kind === "transport",
      );
      expect(sent.length).toBeGreaterThan(2 + 20);
      stream.cancel();
    } finally {
      real.channel.close();
      restoreBrowserGlobals();
    }
  }, 40_000);

  it("a device that keeps to its window, printing 2,500 small frames while the browser is behind, is slowed, never cut off", async () => {
    const mac = "02:77:00:00:00:02";
    const d = await adoptRawDevice(site.service, mac, { terminalCredit: true });
    expect(d.client.receive(await d.next())).toMatchObject({ type: "welcome" });
    let credit = TERMINAL_WINDOW_BYTES;
    let blocked = false;
    let session = "";
    let stopped = false;
    // The device's side: take credit as it comes, answer terminal-open.
    const reading = (async () => {
      while (!stopped) {
        const m = d.client.receive(await d.next());
        if (m.type === "terminal_ack" && m.sessionId === session) credit += m.bytes;
        if (m.type === "command" && m.command.name === "terminal-open") {
          session = m.command.sessionId;
          d.ws.send(d.client.send({ type: "command_result", id: m.id, ok: true }));
        }
      }
    })();
    try {
      const b = await browser("operator");
      const id = await openTerminal(b, mac);
      // 200-byte lines: far more frames fit in the window than a stream may queue events (256).
      const line = (i: number): string => `${String(i).padStart(6, "0")} ${"x".repeat(192)}\n`;
      const print = (text: string): void =>
        d.ws.send(d.client.send({ type: "terminal_data", sessionId: session, data: b64(text) }));
      credit -= LINE;
      print(line(0));
      await waitUntil(() => screen(b, id).text === line(0), 5000, "the first line");
      b.ack(id, outputOf(b, id).last);
      // One frame every millisecond or so, each in its own I/O turn, while the browser acknowledges nothing.
      for (let i = 1; i < FRAMES; i++) {
        while (credit < LINE) {
          blocked = true;
          // The browser catches up only once the device had to wait.
          b.ack(id, outputOf(b, id).last);
          await sleep(5);
        }
        credit -= LINE;
        print(line(i));
        await sleep(1);
      }
      const all = Array.from({ length: FRAMES }, (_, i) => line(i)).join("");
      const acking = setInterval(() => b.ack(id, outputOf(b, id).last), 20);
      try {
        await waitUntil(() => screen(b, id).text.length >= all.length, 20_000, "every line");
      } finally {
        clearInterval(acking);
      }
      expect(blocked).toBe(true);
      expect(screen(b, id).text).toBe(all);
      expect(site.companion.terminals.closedRecords.some((r) => r.terminalId === id)).toBe(false);
      // What arrived while the browser was behind waited in the hub and went out as fewer, larger events.
      expect(b.events.filter((e) => e.subscriptionId === id).length).toBeLessThan(FRAMES);
      expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
    } finally {
      stopped = true;
      d.ws.close();
      void reading.catch(() => undefined);
    }
  }, 60_000);

  it("a device without flow control that prints its banner before it answers terminal-open still opens (its channel is not paused before that answer)", async () => {
    const mac = "02:77:00:00:00:03";
    const d = await adoptRawDevice(site.service, mac);
    expect(d.client.receive(await d.next())).not.toHaveProperty("terminalWindowBytes");
    const b = await browser("operator");
    const opening = b.request("terminal.open", { mac, cols: 80, rows: 24 });
    try {
      const open = await nextTerminalOpen(d);
      const session = open.sessionId;
      d.ws.send(d.client.send({ type: "terminal_data", sessionId: session, data: b64("banner\r\n# ") }));
      await sleep(100);
      d.ws.send(d.client.send({ type: "command_result", id: open.id, ok: true }));
      const id = result<{ subscriptionId: string }>(await opening).subscriptionId;
      await waitUntil(() => screen(b, id).text === "banner\r\n# ", 5000, "the banner");
      expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
    } finally {
      d.ws.close();
    }
  }, 20_000);

  it("a device without flow control that floods before it answers terminal-open loses the terminal then, holding at most the stream's queue", async () => {
    const mac = "02:77:00:00:00:04";
    const d = await adoptRawDevice(site.service, mac);
    d.client.receive(await d.next()); // welcome
    const b = await browser("operator");
    const opening = b.request("terminal.open", { mac, cols: 80, rows: 24 });
    const before = paused();
    try {
      const open = await nextTerminalOpen(d);
      const session = open.sessionId;
      const frame = Buffer.alloc(16_384, 0x61).toString("base64url");
      // 8 MiB, a few frames per I/O turn: more events than a stream may queue (256).
      for (let i = 0; i < 512; i++) {
        d.ws.send(d.client.send({ type: "terminal_data", sessionId: session, data: frame }));
        if (i % 4 === 3) await sleep(1);
      }
      // The terminal ends while the device still has not answered: nothing piled up meanwhile.
      await waitUntil(
        () => site.companion.terminals.closedRecords.some((r) => r.mac === mac && r.reason === "overflow"),
        10_000,
        "the terminal ends before the answer",
      );
      // Its channel was never paused (the answer must be read), and it stays open.
      expect(paused()).toBe(before);
      d.ws.send(d.client.send({ type: "command_result", id: open.id, ok: true }));
      expect(await opening).toMatchObject({ kind: "error", error: { code: "unavailable" } });
      expect(site.service.ctx.channels.has(mac)).toBe(true);
    } finally {
      d.ws.close();
    }
  }, 30_000);

  it("a device that offered flow control and sends past its window loses that terminal (`overflow`), not its channel", async () => {
    const mac = "02:77:00:00:00:01";
    const d = await adoptRawDevice(site.service, mac, { terminalCredit: true });
    expect(d.client.receive(await d.next())).toMatchObject({
      type: "welcome",
      terminalWindowBytes: TERMINAL_WINDOW_BYTES,
    });
    /** Answers the next terminal-open and returns the terminal's id in the browser and on the device. */
    const accept = async (b: BrowserSession): Promise<{ id: string; session: string }> => {
      const opening = b.request("terminal.open", { mac, cols: 80, rows: 24 });
      const open = await nextTerminalOpen(d);
      d.ws.send(d.client.send({ type: "command_result", id: open.id, ok: true }));
      return { id: result<{ subscriptionId: string }>(await opening).subscriptionId, session: open.sessionId };
    };
    try {
      const b = await browser("operator");
      const { id, session } = await accept(b);
      const print = (bytes: number): void =>
        d.ws.send(
          d.client.send({
            type: "terminal_data",
            sessionId: session,
            data: Buffer.alloc(bytes, 0x61).toString("base64url"),
          }),
        );
      print(5);
      await waitUntil(() => screen(b, id).text === "aaaaa", 5000, "the first output");
      b.ack(id, outputOf(b, id).last);
      // The browser holds back from here on: the companion returns no credit once its stream is
      // full, and a megabyte is four windows whatever it returned before.
      for (let i = 0; i < 64; i++) print(16_384);
      await waitUntil(
        () => site.companion.terminals.closedRecords.some((r) => r.terminalId === id),
        10_000,
        "the terminal ends",
      );
      expect(site.companion.terminals.closedRecords.find((r) => r.terminalId === id)).toMatchObject({
        reason: "overflow",
      });
      expect(site.lines.some((l) => l.includes("terminal output over its window") && l.includes(mac))).toBe(true);
      const close = await nextOfType(d, "command");
      expect(close).toMatchObject({ command: { name: "terminal-close", sessionId: session } });
      // The channel stays: the device is online and its next terminal opens on the same session.
      expect(d.ws.readyState).toBe(d.ws.OPEN);
      expect(site.service.ctx.channels.has(mac)).toBe(true);
      const next = await accept(b);
      expect(site.companion.terminals.size).toBeGreaterThan(0);
      expect(result(await b.request("terminal.close", { subscriptionId: next.id }))).toEqual({ closed: true });
    } finally {
      d.ws.close();
    }
  }, 30_000);
});
