// The terminal's output and flow control (client/terminal/terminal-bridge.ts, terminal-panel.tsx,
// client/instances/channel-streams.ts). xterm takes writes into a queue and parses them later: a
// stream acknowledged when `term.write` returned would let a device fill a busy page's xterm
// queue (past ~50 MB xterm throws the data away) instead of slowing down. The panel's output
// handler returns a promise settled by xterm's write callback; the bridge hands it to the
// channel, which acknowledges only once it settled.
import { describe, expect, it } from "vitest";
import { toBase64Url } from "@veil/crypto";
import { ZTerminalOutputEventSchema, type TE2EResponse } from "@veil/protocol";
import { ChannelStreams, type StreamHandlers } from "../src/client/instances/channel-streams";
import type { InstanceChannel } from "../src/client/instances/e2e-channel";
import { TerminalBridge } from "../src/client/terminal/terminal-bridge";

const SUB = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

describe("terminal output is acknowledged once the emulator took it in", () => {
  it("no acknowledgement while xterm's write callback is pending", async () => {
    const acks: number[] = [];
    const streams = new ChannelStreams(
      () => undefined,
      () => false,
      (_id, seq) => acks.push(seq),
      () => 1024 * 1024,
    );
    const channel = {
      subscribe: (_t: string, _b: unknown, eventType: string, schema: never, handlers: StreamHandlers<unknown>) =>
        streams.start(
          (onResult) => {
            const r: TE2EResponse = { kind: "result", id: SUB, type: "terminal.open", body: { subscriptionId: SUB } };
            onResult(r);
            return Promise.resolve(r.body);
          },
          eventType,
          schema,
          handlers,
        ),
      request: () => new Promise(() => undefined),
    } as unknown as InstanceChannel;
    // A stand-in for xterm: `write(bytes, callback)` calls back when the test says it parsed them.
    const parsed: (() => void)[] = [];
    const written: number[] = [];
    const term = {
      write: (bytes: Uint8Array, callback: () => void) => {
        written.push(bytes.length);
        parsed.push(callback);
      },
    };
    const bridge = new TerminalBridge(
      channel,
      { output: (bytes) => new Promise<void>((resolve) => term.write(bytes, resolve)), status: () => undefined },
      () => undefined,
    );
    await bridge.open("02:00:00:00:00:01", 80, 24);
    const data = (seq: number) =>
      streams.onMessage(
        {
          kind: "event",
          subscriptionId: SUB,
          seq,
          type: "terminal.output",
          body: ZTerminalOutputEventSchema.parse({ kind: "data", data: toBase64Url(new Uint8Array(10)) }),
        },
        60,
      );
    data(0);
    await Promise.resolve();
    expect(written).toEqual([10]);
    expect(acks).toEqual([]);
    parsed.shift()?.();
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
    expect(acks).toEqual([0]);
  });
});
