// The browser's side of push-stream flow control (client/instances/channel-streams.ts): the
// channel acknowledges a stream's first event, then each quarter of the companion's window
// (bytes counted at delivery), once the page took the event in — its handler returned and the
// promise it returned, if any, settled (the terminal's xterm write callback) — and in order; it
// sends nothing to a companion that takes no acknowledgements (an older companion would answer
// them as malformed requests). A page handler that fails is never acknowledged and ends only its
// own stream: the frames after it in the same relay delivery are still opened.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { onRelayFrames, type TE2EResponse } from "@veil/protocol";
import { ChannelStreams, type StreamHandlers } from "../src/client/instances/channel-streams";

const SUB = "6f1c2a3b-0d4e-4f50-8a61-7b8c9d0e1f20";
const OTHER = "7a2d3b4c-1e5f-4061-9b72-8c9d0e1f2a31";
const WINDOW = 1024 * 1024;

function channel(windowBytes: number | undefined) {
  const acks: { subscriptionId: string; seq: number }[] = [];
  const cancelled: string[] = [];
  const reported: unknown[] = [];
  let closed = false;
  const streams = new ChannelStreams(
    (subscriptionId) => cancelled.push(subscriptionId),
    () => closed,
    (subscriptionId, seq) => acks.push({ subscriptionId, seq }),
    () => windowBytes,
    (error) => reported.push(error),
  );
  const ended = new Map<string, string[]>();
  const open = (subscriptionId: string, handlers: Pick<StreamHandlers<unknown>, "onEvent">) => {
    ended.set(subscriptionId, []);
    return streams.start(
      (onResult) => {
        const result: TE2EResponse = {
          kind: "result",
          id: subscriptionId,
          type: "terminal.open",
          body: { subscriptionId },
        };
        onResult(result);
        return Promise.resolve(result.body);
      },
      "terminal.output",
      z.unknown(),
      { onEvent: handlers.onEvent, onEnd: (reason) => ended.get(subscriptionId)?.push(reason) },
    );
  };
  const next = new Map<string, number>();
  const event = (subscriptionId: string) => {
    const seq = next.get(subscriptionId) ?? 0;
    next.set(subscriptionId, seq + 1);
    return { kind: "event" as const, subscriptionId, seq, type: "terminal.output", body: {} };
  };
  const deliver = (bytes: number, subscriptionId = SUB): void => streams.onMessage(event(subscriptionId), bytes);
  return { streams, acks, cancelled, reported, ended, open, event, deliver, close: () => (closed = true) };
}

function setup(windowBytes: number | undefined, onEvent: (seq: number) => unknown = () => undefined) {
  const c = channel(windowBytes);
  const started = c.open(SUB, { onEvent: (_e, seq) => onEvent(seq) });
  return { ...c, started, ended: c.ended.get(SUB) ?? [] };
}

/** A handler whose events the page takes in later, when the test says so. */
function delayed() {
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const onEvent = (seq: number) =>
    new Promise<void>((resolve, reject) => {
      pending.set(seq, { resolve, reject });
    });
  const settle = async (seq: number, error?: Error) => {
    const p = pending.get(seq);
    if (!p) throw new Error(`no event ${seq}`);
    if (error) p.reject(error);
    else p.resolve();
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
  };
  return { onEvent, settle };
}

const seqs = (acks: { subscriptionId: string; seq: number }[], id = SUB) =>
  acks.filter((a) => a.subscriptionId === id).map((a) => a.seq);

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

  it("acknowledges an event only once the page took it in (the handler's promise settled), in order", async () => {
    const page = delayed();
    const { acks, deliver, started } = setup(WINDOW, page.onEvent);
    await started;
    deliver(100); // seq 0: the first event, an acknowledgement point
    for (let i = 0; i < 7; i += 1) deliver(40_000); // seq 7 is the next point (bytes counted at delivery)
    for (let i = 0; i < 7; i += 1) deliver(40_000); // and seq 14
    await Promise.resolve();
    expect(acks).toEqual([]); // delivered, but xterm (say) has taken in nothing yet

    // The page takes in 7 and 14 before 0: nothing is acknowledged ahead of an earlier event.
    await page.settle(7);
    await page.settle(14);
    expect(acks).toEqual([]);
    await page.settle(0);
    expect(seqs(acks)).toEqual([0]);
    for (let seq = 1; seq < 7; seq += 1) await page.settle(seq);
    expect(seqs(acks)).toEqual([0, 7]);
    for (let seq = 8; seq < 14; seq += 1) await page.settle(seq);
    expect(seqs(acks)).toEqual([0, 7, 14]);

    // Once the page caught up, a handler that returns at once is acknowledged at once again.
    const sync = setup(WINDOW);
    await sync.started;
    sync.deliver(100);
    expect(seqs(sync.acks)).toEqual([0]);
  });

  it("a handler whose promise rejects ends its stream, unacknowledged", async () => {
    const page = delayed();
    const { acks, cancelled, deliver, ended, reported, started } = setup(WINDOW, page.onEvent);
    await started;
    deliver(100);
    deliver(100);
    const failure = new Error("xterm refused the write");
    await page.settle(0, failure);
    await page.settle(1);
    expect(acks).toEqual([]);
    expect(ended).toEqual(["handler_error"]);
    expect(cancelled).toEqual([SUB]);
    expect(reported).toEqual([failure]);
    deliver(100); // the stream is gone: later events are dropped
    await Promise.resolve();
    expect(acks).toEqual([]);
  });

  it("a throwing handler ends only its stream; the rest of the relay delivery still arrives", async () => {
    const c = channel(WINDOW);
    const seen: string[] = [];
    const failure = new Error("the page's handler failed");
    await c.open(SUB, {
      onEvent: (_e, seq) => {
        seen.push(`terminal ${seq}`);
        throw failure;
      },
    });
    await c.open(OTHER, { onEvent: (_e, seq) => void seen.push(`other ${seq}`) });
    // One `e2e:frames` batch from the console, handed over frame by frame as the channel does.
    let batch: ((payload: unknown) => void) | undefined;
    const socket = {
      on: (name: string, listener: (payload: unknown) => void) => {
        if (name === "e2e:frames") batch = listener;
      },
    };
    onRelayFrames(socket, (frame) => c.streams.onMessage(frame as ReturnType<typeof c.event>, 100));
    expect(() => batch?.([c.event(SUB), c.event(OTHER), c.event(SUB), c.event(OTHER)])).not.toThrow();
    expect(seen).toEqual(["terminal 0", "other 0", "other 1"]);
    expect(c.acks).toEqual([{ subscriptionId: OTHER, seq: 0 }]); // none for the throwing event
    expect(c.ended.get(SUB)).toEqual(["handler_error"]);
    expect(c.ended.get(OTHER)).toEqual([]);
    expect(c.cancelled).toEqual([SUB]);
    expect(c.reported).toEqual([failure]);
  });
});
