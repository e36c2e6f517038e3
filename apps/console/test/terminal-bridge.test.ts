// The browser half of the device terminal without React or xterm (client/terminal/
// terminal-bridge.ts): keystrokes batched per frame into capped `terminal.input` requests with
// one in flight, output bytes and the close reason passed on. The E2E channel is a stand-in that
// records requests; the real channel is exercised by tests/console/terminal.test.ts.
import { describe, expect, it } from "vitest";
import { toBase64Url, utf8 } from "@veil/crypto";
import { MAX_TERMINAL_INPUT_BYTES, type TTerminalOutputEvent } from "@veil/protocol";
import type { InstanceChannel, StreamHandlers } from "../src/client/instances/e2e-channel";
import { TerminalBridge, type TerminalStatus } from "../src/client/terminal/terminal-bridge";

const SUB = "0b6f3c1e-2a4d-4e5f-9a0b-1c2d3e4f5a6b";

interface Sent {
  type: string;
  body: Record<string, unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

function fakeChannel(options: { refuseOpen?: string } = {}) {
  const sent: Sent[] = [];
  let handlers: StreamHandlers<TTerminalOutputEvent> | undefined;
  let cancelled = 0;
  const channel = {
    subscribe: (type: string, body: Record<string, unknown>, eventType: string, _s: unknown, h: typeof handlers) => {
      sent.push({ type, body: { ...body, eventType }, resolve: () => undefined, reject: () => undefined });
      if (options.refuseOpen) return Promise.reject(new Error(options.refuseOpen));
      handlers = h;
      return Promise.resolve({ subscriptionId: SUB, cancel: () => void cancelled++ });
    },
    request: (type: string, body: Record<string, unknown>) =>
      new Promise((resolve, reject) => sent.push({ type, body, resolve, reject })),
  } as unknown as InstanceChannel;
  return { channel, sent, events: () => handlers, cancelled: () => cancelled };
}

function setUp(options: { refuseOpen?: string } = {}) {
  const fake = fakeChannel(options);
  const frames: (() => void)[] = [];
  const output: Uint8Array[] = [];
  const statuses: TerminalStatus[] = [];
  const bridge = new TerminalBridge(
    fake.channel,
    { output: (b) => output.push(b), status: (s) => statuses.push(s) },
    (fn) => frames.push(fn),
  );
  const frame = () => {
    for (const fn of frames.splice(0)) fn();
  };
  return { ...fake, bridge, frame, output, statuses };
}

const inputs = (sent: Sent[]) => sent.filter((s) => s.type === "terminal.input");
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("terminal bridge", () => {
  it("opens the stream with the size, batches keystrokes per frame, keeps one input in flight", async () => {
    const t = setUp();
    await t.bridge.open("02:00:00:00:00:01", 100, 24);
    expect(t.sent[0]).toMatchObject({
      type: "terminal.open",
      body: { mac: "02:00:00:00:00:01", cols: 100, rows: 24, eventType: "terminal.output" },
    });
    expect(t.statuses.at(-1)).toEqual({ state: "open", cols: 100, rows: 24 });

    t.bridge.type("u");
    t.bridge.type("name");
    expect(inputs(t.sent)).toHaveLength(0); // waits for the frame
    t.frame();
    expect(inputs(t.sent).map((s) => s.body)).toEqual([{ subscriptionId: SUB, data: toBase64Url(utf8("uname")) }]);
    t.bridge.type(" -a");
    t.bridge.type("\r");
    t.frame();
    expect(inputs(t.sent)).toHaveLength(1); // the first is still in flight
    inputs(t.sent)[0]?.resolve({ accepted: 5 });
    await settle();
    t.frame();
    expect(inputs(t.sent)[1]?.body).toEqual({ subscriptionId: SUB, data: toBase64Url(utf8(" -a\r")) });
  });

  it("cuts a long paste into inputs of at most MAX_TERMINAL_INPUT_BYTES, in order, bytes intact", async () => {
    const t = setUp();
    await t.bridge.open("02:00:00:00:00:01", 80, 24);
    const paste = "é".repeat(3000); // 6,000 bytes of UTF-8; the cut falls inside a character
    t.bridge.type(paste);
    t.frame();
    inputs(t.sent)[0]?.resolve({ accepted: MAX_TERMINAL_INPUT_BYTES });
    await settle();
    t.frame();
    const parts = inputs(t.sent).map((s) => Buffer.from(String(s.body.data), "base64url"));
    expect(parts.map((p) => p.length)).toEqual([MAX_TERMINAL_INPUT_BYTES, 6000 - MAX_TERMINAL_INPUT_BYTES]);
    expect(Buffer.concat(parts).toString("utf8")).toBe(paste);
  });

  it("writes output bytes, reports the close reason and byte counts, then ignores keystrokes", async () => {
    const t = setUp();
    await t.bridge.open("02:00:00:00:00:01", 80, 24);
    t.events()?.onEvent({ kind: "data", data: toBase64Url(utf8("switch# ")) }, 0);
    expect(Buffer.from(t.output[0] ?? []).toString("utf8")).toBe("switch# ");
    t.events()?.onEvent({ kind: "closed", reason: "exited", bytesIn: 5, bytesOut: 120 }, 1);
    expect(t.statuses.at(-1)).toEqual({ state: "closed", reason: "exited", bytesIn: 5, bytesOut: 120 });
    t.bridge.type("x");
    t.frame();
    expect(inputs(t.sent)).toHaveLength(0);
  });

  it("says why it could not open; a stream that ends without a reason says so", async () => {
    const refused = setUp({ refuseOpen: "This device speaks UniFi inform, which carries no terminal. (unavailable)" });
    await refused.bridge.open("02:00:00:00:00:09", 80, 24);
    const last = refused.statuses.at(-1);
    expect(last?.state).toBe("failed");
    expect(last?.state === "failed" && last.message).toContain("UniFi");

    const t = setUp();
    await t.bridge.open("02:00:00:00:00:01", 80, 24);
    t.events()?.onEnd("session_closed");
    expect(t.statuses.at(-1)).toMatchObject({ state: "closed", reason: "stream_ended" });
  });

  it("close asks the companion; leaving the page cancels the stream", async () => {
    const t = setUp();
    await t.bridge.open("02:00:00:00:00:01", 80, 24);
    void t.bridge.close();
    expect(t.sent.at(-1)).toMatchObject({ type: "terminal.close", body: { subscriptionId: SUB } });
    t.bridge.dispose();
    expect(t.cancelled()).toBe(1);
  });
});
