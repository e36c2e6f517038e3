import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import { waitUntil } from "./harness/browser";
import { b64, IDLE_MS, outputOf, result, screen, STALL_MS, useTerminalSite } from "./harness/terminal-site";

useNativePrimitives();

describe("terminal: a browser's shell on a simulated device, over the E2E session and the Veil device channel", () => {
  const site = useTerminalSite({ legacyDevice: true });
  const { browser, openTerminal, type, lines } = site;
  const veilMac = (i: number): string => site.veilSim.devices[i]?.mac ?? "";

  it("an operator opens a shell, types `uname -a`, `help` and `stty size`, and gets the device's answers as they arrive", async () => {
    const b = await browser("operator");
    const device = site.veilSim.devices[0];
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
    expect(site.veilSim.stats().terminalsOpen).toBe(1);
    expect(result(await b.request("terminal.close", { subscriptionId: id }))).toEqual({ closed: true });
    await waitUntil(() => screen(b, id).ended === "cancelled", 5000, "stream end");
    const closed = screen(b, id).closed;
    expect(closed).toMatchObject({ kind: "closed", reason: "closed" });
    expect(closed?.kind === "closed" && closed.bytesIn).toBe(
      Buffer.byteLength("uname -a\rhelp\rstty size\rstty size\r"),
    );
    expect(closed?.kind === "closed" && closed.bytesOut).toBeGreaterThan(100);
    await waitUntil(() => site.veilSim.stats().terminalsOpen === 0, 5000, "device shell closed");
    expect(site.companion.terminals.size).toBe(0);
    // Open and close are logged with who, which device and the byte counts; keystrokes never are.
    const closeLine = lines.find((l) => l.includes("terminal closed") && l.includes(id));
    expect(closeLine).toContain(device.mac);
    expect(closeLine).toContain(`"bytesIn":${Buffer.byteLength("uname -a\rhelp\rstty size\rstty size\r")}`);
    expect(lines.some((l) => l.includes("uname"))).toBe(false);
    // The audit log holds the requests and the terminal's own open and close records, with the
    // byte counts and the signer of the grant; no record carries what was typed.
    site.companion.audit.flush();
    const records = site.companion.audit.read({ limit: 500 }).records;
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
    expect(site.service.ctx.counters.get("veil.rate_limited_device") ?? 0).toBe(0);
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
    expect(site.veilSim.stats().terminalsOpen).toBe(0);
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
    site.companion.audit.flush();
    expect(
      site.companion.audit
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
    await waitUntil(
      () => screen(a, id).text.includes(`${site.veilSim.devices[1]?.hostname ?? "?"}\r\n`),
      5000,
      "hostname",
    );
    expect(screen(other, second).text).not.toContain("hostname");
    // Nothing of the first session's terminal reached the other session at all, under any id.
    expect(other.events.filter((e) => e.subscriptionId !== second)).toEqual([]);
    for (const [b, t] of [
      [a, id],
      [other, second],
    ] as const)
      expect(result(await b.request("terminal.close", { subscriptionId: t }))).toEqual({ closed: true });
  }, 20_000);

  it.each([
    ["with per-terminal flow control", () => site.veilSim, 1],
    ["without it (its channel was paused)", () => site.legacySim, 0],
  ] as const)(
    "flow control: a browser that stops acknowledging loses its terminal (`overflow`) after the stall limit, and the device is read again: a device %s",
    async (_, sim, index) => {
      const b = await browser("operator");
      const device = sim()?.devices[index];
      if (!device) throw new Error("no device");
      const id = await openTerminal(b, device.mac);
      await waitUntil(() => screen(b, id).text.endsWith(`${device.hostname}# `), 5000, "prompt");
      b.ack(id, outputOf(b, id).last);
      await type(b, id, "seq 1 300000\r");
      await waitUntil(() => screen(b, id).ended !== undefined, STALL_MS + 5000, "the stalled stream ends");
      // The stream ended at once, with no `closed` event (nothing more can go out on it); the record says why.
      expect(screen(b, id).ended).toBe("error");
      expect(site.companion.terminals.size).toBe(0);
      expect(site.companion.terminals.closedRecords.at(-1)).toMatchObject({ terminalId: id, reason: "overflow" });
      await waitUntil(() => sim()?.stats().terminalsOpen === 0, 5000, "device shell closed");
      // Its informs arrive again (a paused channel is read again).
      const since = Date.now();
      const entry = site.service.ctx.inventory.devices.get(device.mac);
      await waitUntil(() => (entry?.lastSeen ?? 0) > since, 10_000, "an inform after the terminal ended");
    },
    30_000,
  );

  it("closing the E2E session closes its terminals on the device", async () => {
    const b = await browser("operator");
    const id = await openTerminal(b, veilMac(2));
    await waitUntil(() => site.veilSim.stats().terminalsOpen === 1, 5000, "device shell open");
    b.sendRaw({ instanceId: site.instance.instanceId, sessionId: b.sessionId, kind: "close", frame: "" });
    await waitUntil(() => site.veilSim.stats().terminalsOpen === 0, 5000, "device shell closed");
    expect(site.companion.terminals.size).toBe(0);
    expect(site.companion.terminals.closedRecords.at(-1)).toMatchObject({ terminalId: id, reason: "session_closed" });
  });

  it("a UniFi device gets a typed `unavailable` that says why; unknown MACs are a bad request", async () => {
    const b = await browser("operator");
    const unifi = site.unifiSim.devices[0]?.mac ?? "";
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
    expect(site.companion.terminals.size).toBe(0);
    // Typing into a closed terminal is refused.
    expect(await b.request("terminal.input", { subscriptionId: watcher, data: b64("x") })).toMatchObject({
      kind: "error",
      error: { code: "bad_request" },
    });
  }, 20_000);
});
