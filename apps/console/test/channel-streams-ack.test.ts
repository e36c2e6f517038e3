// The browser's side of push-stream flow control (client/instances/channel-streams.ts): the
// channel acknowledges a stream's first event at once, then each quarter of the companion's
// window, after the page's handler ran; and it sends nothing to a companion that takes no
// acknowledgements (an older companion would answer them as malformed requests).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { TE2EResponse } from "@veil/protocol";
import { ChannelStreams } from "../src/client/instances/channel-streams";

const SUB = "6f1c2a3b-0d4e-4f50-8a61-7b8c9d0e1f20";
const WINDOW = 1024 * 1024;

function setup(windowBytes: number | undefined, onEvent: (seq: number) => void = () => undefined) {
  const acks: { subscriptionId: string; seq: number }[] = [];
  let closed = false;
  const streams = new ChannelStreams(
    () => undefined,
    () => closed,
    (subscriptionId, seq) => acks.push({ subscriptionId, seq }),
    () => windowBytes,
  );
  const ended: string[] = [];
  const started = streams.start(
    (onResult) => {
      const result: TE2EResponse = { kind: "result", id: SUB, type: "terminal.open", body: { subscriptionId: SUB } };
      onResult(result);
      return Promise.resolve(result.body);
    },
    "terminal.output",
    z.unknown(),
    { onEvent: (_e, seq) => onEvent(seq), onEnd: (reason) => ended.push(reason) },
  );
  let seq = 0;
  const deliver = (bytes: number): void =>
    streams.onMessage({ kind: "event", subscriptionId: SUB, seq: seq++, type: "terminal.output", body: {} }, bytes);
  return { acks, deliver, ended, started, close: () => (closed = true) };
}

describe("push-stream acknowledgements from the browser", () => {
  it("acknowledges the first event at once, then every quarter of the window delivered", async () => {
    const { acks, deliver, started } = setup(WINDOW);
    await started;
    deliver(100);
    expect(acks).toEqual([{ subscriptionId: SUB, seq: 0 }]);
    // 40,000-byte events: the quarter window (262,144 bytes) is reached with the seventh.
    for (let i = 0; i < 6; i += 1) deliver(40_000);
    expect(acks).toHaveLength(1);
    deliver(40_000);
    expect(acks.at(-1)).toEqual({ subscriptionId: SUB, seq: 7 });
    for (let i = 0; i < 7; i += 1) deliver(40_000);
    expect(acks.map((a) => a.seq)).toEqual([0, 7, 14]);
  });

  it("sends no acknowledgement to a companion without a window, nor once the channel closed", async () => {
    const old = setup(undefined);
    await old.started;
    for (let i = 0; i < 50; i += 1) old.deliver(60_000);
    expect(old.acks).toEqual([]);

    const closing = setup(WINDOW);
    await closing.started;
    closing.close();
    closing.deliver(100);
    expect(closing.acks).toEqual([]);
  });

  it("acknowledges only after the page's handler ran, even when it throws", async () => {
    const order: string[] = [];
    const { acks, deliver, started } = setup(WINDOW, (seq) => {
      order.push(`handled ${seq}`);
      throw new Error("the page's handler failed");
    });
    await started;
    expect(() => deliver(100)).toThrow("the page's handler failed");
    expect(order).toEqual(["handled 0"]);
    expect(acks).toEqual([{ subscriptionId: SUB, seq: 0 }]);
  });
});
