import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TRelayFrame } from "@veil/protocol";
import { listenToOtherNodes, type NodeChannel } from "../src/server/instances/other-node-relay";

/** A node channel the test drives: what another node's events would call. */
function channel(): NodeChannel & { deliver(event: string, ...args: unknown[]): void } {
  const events = new EventEmitter();
  return {
    serverSideEmit: () => true,
    on: (event, listener) => events.on(event, listener),
    deliver: (event, ...args) => void events.emit(event, ...args),
  };
}

describe("events from other console nodes", () => {
  it("hands on well-formed events, drops malformed ones with a log line, and never throws out of a handler", () => {
    const c = channel();
    const log: string[] = [];
    const seen: unknown[] = [];
    listenToOtherNodes(
      c,
      {
        frame: (f) => seen.push(["frame", f.sessionId]),
        companion: (id, socketId) => seen.push(["companion", id, socketId]),
        revoke: (id) => {
          if (id === "00000000-0000-4000-8000-000000000000") throw new Error("boom");
          seen.push(["revoke", id]);
        },
      },
      (line) => log.push(line),
    );
    const id = randomUUID();
    const frame: TRelayFrame = {
      instanceId: id,
      sessionId: "AAAAAAAAAAAAAAAAAAAAAA",
      kind: "transport",
      frame: "AAAA",
    };
    c.deliver("node:frame", frame);
    c.deliver("node:companion", id, "socket-1");
    c.deliver("node:revoke", id);
    expect(seen).toEqual([
      ["frame", frame.sessionId],
      ["companion", id, "socket-1"],
      ["revoke", id],
    ]);
    c.deliver("node:frame", { ...frame, kind: "other" });
    c.deliver("node:companion", "not-an-id", "socket-1");
    c.deliver("node:revoke", 42);
    expect(() => c.deliver("node:revoke", "00000000-0000-4000-8000-000000000000")).not.toThrow();
    expect(seen).toHaveLength(3);
    expect(log).toEqual([
      "relay: a malformed node:frame from another node was dropped",
      "relay: a malformed node:companion from another node was dropped",
      "relay: a malformed node:revoke from another node was dropped",
      "relay: node:revoke from another node failed: boom",
    ]);
  });
});
