import { describe, expect, it } from "vitest";
import type { TDeviceUpMessage } from "@veil/protocol";
import { TerminalOutbox } from "../src/terminal-outbox";

type Sent = Extract<TDeviceUpMessage, { type: "terminal_data" }>;

/** An outbox over a socket that flushes each message when told to. */
function outbox(window: number | undefined): {
  out: TerminalOutbox;
  sent: Sent[];
  flush: () => void;
  bytes: () => number;
} {
  const sent: Sent[] = [];
  const flushes: (() => void)[] = [];
  const out = new TerminalOutbox("s1", window, (m, onFlushed) => {
    if (m.type !== "terminal_data") throw new Error(`unexpected ${m.type}`);
    sent.push(m);
    flushes.push(onFlushed);
  });
  const flush = (): void => {
    for (let f = flushes.shift(); f !== undefined; f = flushes.shift()) f();
  };
  const bytes = (): number => sent.reduce((n, m) => n + Buffer.from(m.data, "base64url").length, 0);
  return { out, sent, flush, bytes };
}

describe("a terminal's outbox on a simulated device", () => {
  it("sends at most the window unacknowledged, in 16 KiB messages, and the rest as credit comes back", () => {
    const { out, sent, flush, bytes } = outbox(40_000);
    out.write("x".repeat(100_000));
    expect(sent.map((m) => Buffer.from(m.data, "base64url").length)).toEqual([16_384, 16_384, 7232]);
    expect(out.waiting).toBe(60_000);
    flush();
    expect(out.ready).toBe(false);
    out.ack(10_000);
    expect(bytes()).toBe(50_000);
    // Credit never grows past the window, whatever the companion says.
    out.ack(1_000_000);
    expect(bytes()).toBe(90_000);
    out.ack(40_000);
    expect(bytes()).toBe(100_000);
    flush();
    expect(out.ready).toBe(true);
  });

  it("puts `eof` on the last words once they are out, and runs `then` after they flushed", () => {
    const { out, sent, flush } = outbox(16_384);
    let done = false;
    out.write("y".repeat(20_000), { eof: true, then: () => (done = true) });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.eof).toBeUndefined();
    out.ack(16_384);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.eof).toBe(true);
    expect(done).toBe(false);
    flush();
    expect(done).toBe(true);
  });

  it("an empty write needs no credit; without a window everything goes at once, and `ready` follows the socket", () => {
    const held = outbox(16_384);
    held.out.write("z".repeat(16_384));
    held.out.write("");
    expect(held.sent).toHaveLength(2);
    const free = outbox(undefined);
    let readies = 0;
    free.out.onReady = () => (readies += 1);
    free.out.write("w".repeat(70_000));
    expect(free.sent).toHaveLength(5);
    expect(free.out.ready).toBe(false);
    free.out.ack(1);
    expect(free.sent).toHaveLength(5);
    free.flush();
    expect(free.out.ready).toBe(true);
    expect(readies).toBeGreaterThan(0);
  });
});
