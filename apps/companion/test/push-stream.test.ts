import { describe, expect, it } from "vitest";
import { PushStream } from "../src/e2e/push-stream";
import type { StreamStopReason } from "../src/e2e/request-context";
import type { TE2EResponse } from "../src/protocol";
import { manualClock } from "./harness/manual-clock";

const ID = "6f1c2a3b-0d4e-4f50-8a61-7b8c9d0e1f20";

function make(limits = { maxQueuedEvents: 4, bytesPerSec: 100, burstBytes: 100 }) {
  const clock = manualClock();
  const sent: TE2EResponse[] = [];
  const stops: StreamStopReason[] = [];
  const stream = new PushStream(
    ID,
    "terminal.output",
    (m) => sent.push(m),
    clock,
    limits,
    (r) => stops.push(r),
  );
  return { clock, sent, stops, stream };
}

const events = (sent: TE2EResponse[]) => sent.filter((m) => m.kind === "event");

describe("push streams (ctx.stream): ordered, bounded, started only after the result", () => {
  it("holds events until the request's result went out, then sends them in order with seq from 0", () => {
    const { sent, stream } = make();
    expect(stream.push({ n: 1 })).toBe(true);
    expect(stream.push({ n: 2 })).toBe(true);
    expect(sent).toEqual([]);
    stream.start();
    expect(sent).toEqual([
      { kind: "event", subscriptionId: ID, seq: 0, type: "terminal.output", body: { n: 1 } },
      { kind: "event", subscriptionId: ID, seq: 1, type: "terminal.output", body: { n: 2 } },
    ]);
    stream.push({ n: 3 });
    expect(events(sent).at(-1)).toMatchObject({ seq: 2, body: { n: 3 } });
  });

  it("spends a byte budget: events over it wait for the bucket to refill, in order", () => {
    const { clock, sent, stream } = make({ maxQueuedEvents: 10, bytesPerSec: 100, burstBytes: 100 });
    stream.start();
    const big = { data: "x".repeat(40) }; // 51 bytes of JSON
    stream.push(big);
    expect(events(sent)).toHaveLength(1);
    stream.push(big);
    stream.push(big);
    // 100 - 51 = 49 tokens left: the second waits for 2 more bytes (20 ms at 100 B/s).
    expect(events(sent)).toHaveLength(1);
    clock.advance(19);
    expect(events(sent)).toHaveLength(1);
    clock.advance(2);
    expect(events(sent)).toHaveLength(2);
    clock.advance(600);
    expect(events(sent).map((e) => (e.kind === "event" ? e.seq : -1))).toEqual([0, 1, 2]);
  });

  it("ends with `error` and reports overflow when its queue passes the bound, instead of growing", () => {
    const { sent, stops, stream } = make({ maxQueuedEvents: 2, bytesPerSec: 1, burstBytes: 10 });
    stream.start();
    const chunk = { data: "y".repeat(20) };
    expect(stream.push(chunk)).toBe(true); // larger than the burst: goes once the bucket is full
    expect(stream.push(chunk)).toBe(true);
    expect(stream.push(chunk)).toBe(true);
    expect(stream.push(chunk)).toBe(false);
    expect(stops).toEqual(["overflow"]);
    expect(sent.at(-1)).toEqual({ kind: "end", subscriptionId: ID, reason: "error" });
    expect(stream.ended).toBe(true);
    expect(stream.push(chunk)).toBe(false);
  });

  it("`end` sends the pushed events, then `end`; onStop runs exactly once whatever stops it", () => {
    const { sent, stops, stream } = make();
    stream.start();
    stream.push({ last: true });
    stream.end();
    stream.end("error");
    stream.stop("session_closed");
    expect(sent.map((m) => m.kind)).toEqual(["event", "end"]);
    expect(sent.at(-1)).toEqual({ kind: "end", subscriptionId: ID, reason: "cancelled" });
    expect(stops).toEqual(["ended"]);
  });

  it("a cancel sends `end`; a closed session or a failed request sends nothing", () => {
    const cancelled = make();
    cancelled.stream.start();
    cancelled.stream.stop("cancelled");
    expect(cancelled.sent).toEqual([{ kind: "end", subscriptionId: ID, reason: "cancelled" }]);
    expect(cancelled.stops).toEqual(["cancelled"]);

    const refused = make();
    refused.stream.push({ early: true });
    refused.stream.stop("refused");
    refused.stream.start();
    expect(refused.sent).toEqual([]);
    expect(refused.stops).toEqual(["refused"]);

    const closed = make();
    closed.stream.start();
    closed.stream.stop("session_closed");
    expect(closed.sent).toEqual([]);
    expect(closed.stream.push({})).toBe(false);
  });

  it("a stream that ended before its result went out sends its `end` right after the result", () => {
    const { sent, stream } = make();
    stream.push({ banner: true });
    stream.end("error");
    expect(sent).toEqual([]);
    stream.start();
    expect(sent.map((m) => m.kind)).toEqual(["event", "end"]);
  });
});
