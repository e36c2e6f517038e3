// The relay hub (src/server/instances/companion-hub.ts) must never throw into socket.io's event
// dispatch, which runs listeners in a process.nextTick: a throw there would end the console. A
// relay step that throws is logged and the frame refused with `internal`, in both directions.
import { describe, expect, it, vi } from "vitest";
import type { TRelayFrame, TSocketAck } from "@veil/protocol";
import { CompanionHub } from "../src/server/instances/companion-hub";
import type { BrowserRelaySocket, CompanionSocket } from "../src/server/instances/relay-sockets";
import type { ConsoleServices } from "../src/server/services";

const frame: TRelayFrame = {
  instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
  sessionId: "AAAAAAAAAAAAAAAAAAAAAA",
  kind: "transport",
  frame: "AAAA",
};

function hub() {
  const log = vi.fn();
  const services = { config: { redisUrl: null }, log } as unknown as ConsoleServices;
  return { hub: new CompanionHub(services), log };
}

describe("companion hub", () => {
  it("refuses a browser's frame with internal, logged, when a relay step throws", () => {
    const { hub: h, log } = hub();
    const replies: TSocketAck[] = [];
    // A socket whose data cannot be read: charging its budget throws.
    const broken = {
      id: "browser-1",
      connected: true,
      get data(): never {
        throw new Error("socket data unreadable");
      },
      once: () => undefined,
      join: () => undefined,
      leave: () => undefined,
    } as unknown as BrowserRelaySocket;
    expect(() => h.fromBrowser(broken, frame, (ack) => replies.push(ack))).not.toThrow();
    expect(replies).toMatchObject([{ ok: false, error: { code: "internal" } }]);
    expect(log).toHaveBeenCalledWith("relay: socket data unreadable");
  });

  it("refuses a companion's frame with internal, logged, when a relay step throws", () => {
    const { hub: h, log } = hub();
    const replies: TSocketAck[] = [];
    const broken = {
      get data(): never {
        throw new Error("socket data unreadable");
      },
    } as unknown as CompanionSocket;
    expect(() => h.fromCompanion(broken, frame, (ack) => replies.push(ack))).not.toThrow();
    expect(replies).toMatchObject([{ ok: false, error: { code: "internal" } }]);
    expect(log).toHaveBeenCalledWith("relay: socket data unreadable");
  });
});
