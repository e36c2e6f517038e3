import { describe, expect, it } from "vitest";
import { DEFAULT_PUSH_STREAM_LIMITS, PushStream, type PushStreamLimits } from "../src/e2e/push-stream";
import type { StreamStopReason } from "../src/e2e/request-context";
import type { TE2EResponse } from "../src/protocol";
import { manualClock } from "./harness/manual-clock";

const ID = "6f1c2a3b-0d4e-4f50-8a61-7b8c9d0e1f20";

function make(limits: Partial<PushStreamLimits> = { maxQueuedEvents: 4, bytesPerSec: 100, burstBytes: 100 }) {
  const clock = manualClock();
  const sent: TE2EResponse[] = [];
  const stops: StreamStopReason[] = [];
  const drained: number[] = [];
  const stream = new PushStream(
    ID,
    "terminal.output",
    (m) => sent.push(m),
    clock,
    { ...DEFAULT_PUSH_STREAM_LIMITS, ...limits },
    (r) => stops.push(r),
    () => drained.push(clock.now()),
  );
  return { clock, sent, stops, drained, stream };
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

  it("flow control: once acknowledged, at most the window stays unacknowledged; events wait for acks, in order, and the producer hears when they drained", () => {
    // Each event body is {"d":"xxxxxxxxxx"}: 16 bytes of JSON. A 40-byte window holds two.
    const { sent, drained, stream } = make({ maxQueuedEvents: 100, windowBytes: 40 });
    const body = { d: "x".repeat(10) };
    stream.start();
    // Before the browser acknowledges anything, the window does not apply (a browser older than
    // flow control never does).
    for (let i = 0; i < 5; i += 1) stream.push(body);
    expect(events(sent)).toHaveLength(5);
    expect(stream.acknowledge(0)).toBe(true);
    // Events 1–4 (64 bytes) are unacknowledged: a sixth waits, and so does a seventh.
    stream.push(body);
    stream.push(body);
    expect(events(sent)).toHaveLength(5);
    expect(stream.waiting).toBe(2);
    expect(drained).toEqual([]);
    stream.acknowledge(3); // event 4 alone is in flight: one more fits
    expect(events(sent)).toHaveLength(6);
    expect(stream.waiting).toBe(1);
    stream.acknowledge(5); // nothing in flight: the last goes, and the queue drained
    expect(events(sent).map((e) => (e.kind === "event" ? e.seq : -1))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(stream.waiting).toBe(0);
    expect(drained).toHaveLength(1);
    // An acknowledgement of an event not sent yet, or an old one, changes nothing.
    expect(stream.acknowledge(7)).toBe(false);
    expect(stream.acknowledge(2)).toBe(true);
    stream.push(body);
    stream.push(body);
    stream.push(body);
    // Event 6 is still in flight: 7 fits beside it (32 bytes), 8 waits.
    expect(events(sent)).toHaveLength(8);
    expect(stream.waiting).toBe(2);
  });

  it("a window that stays full without an acknowledgement for `stallMs` ends the stream with `error` (overflow)", () => {
    const { clock, sent, stops, stream } = make({ maxQueuedEvents: 100, windowBytes: 40, stallMs: 1000 });
    const body = { d: "x".repeat(10) };
    stream.start();
    stream.push(body);
    stream.acknowledge(0);
    stream.push(body);
    stream.push(body);
    stream.push(body); // waits: 32 bytes in flight
    clock.advance(900);
    stream.acknowledge(1); // progress: the stall clock starts again
    expect(events(sent)).toHaveLength(4);
    stream.push(body); // 2 and 3 in flight: waits
    clock.advance(500);
    stream.acknowledge(1); // no progress: the stall clock runs on
    clock.advance(499);
    expect(stops).toEqual([]);
    clock.advance(1);
    expect(stops).toEqual(["overflow"]);
    expect(sent.at(-1)).toEqual({ kind: "end", subscriptionId: ID, reason: "error" });
    expect(stream.acknowledge(3)).toBe(false);
  });

  it("acknowledgements before the result went out, or after the stream stopped, are refused", () => {
    const { stream } = make();
    stream.push({});
    expect(stream.acknowledge(0)).toBe(false);
    stream.start();
    expect(stream.acknowledge(0)).toBe(true);
    stream.stop("cancelled");
    expect(stream.acknowledge(0)).toBe(false);
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
