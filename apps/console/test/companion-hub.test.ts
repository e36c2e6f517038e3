// The relay hub (src/server/instances/companion-hub.ts) must never throw into socket.io's event
// dispatch, which runs listeners in a process.nextTick: a throw there would end the console. A
// relay step that throws is logged and the frame refused with `internal`, in both directions.
// A companion socket whose presence cannot be written is not kept: it would stay connected for
// good, shown offline.
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { FrameOutbox, type TRelayFrame, type TSocketAck } from "@veil/protocol";
import { CompanionHub } from "../src/server/instances/companion-hub";
import { COMPANION_SOCKET_LIMIT, FrameBudget } from "../src/server/instances/frame-budget";
import { closeFrame, type BrowserRelaySocket, type CompanionSocket } from "../src/server/instances/relay-sockets";
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

  it("disconnects and forgets a companion whose presence write fails, closing the sessions opened with it meanwhile", async () => {
    const userId = randomUUID();
    const instanceId = randomUUID();
    // The presence write (an update) fails once the test says so; queries answer at once.
    let failWrite: (error: Error) => void = () => undefined;
    const query = (kind: "select" | "update") => (): unknown => {
      const chain: Record<string, unknown> = {};
      for (const clause of ["select", "from", "where", "update", "set", "returning"]) chain[clause] = () => chain;
      chain.then = (ok: (rows: unknown[]) => unknown, ko: (error: unknown) => unknown) =>
        (kind === "update"
          ? new Promise<unknown[]>((_, reject) => (failWrite = reject))
          : Promise.resolve([{ adminUserId: userId }])
        ).then(ok, ko);
      return chain;
    };
    const log = vi.fn();
    const services = {
      config: { redisUrl: null, revocationSweepMs: 60_000 },
      db: { select: query("select"), update: query("update") },
      log,
    } as unknown as ConsoleServices;
    const h = new CompanionHub(services);
    // A socket whose disconnect event comes later (or never): the hub must not wait for it.
    const disconnect = vi.fn();
    const emit = vi.fn();
    const companion = {
      id: "companion-1",
      connected: true,
      data: {
        instanceId,
        ip: "127.0.0.1",
        companionVersion: "test",
        budget: new FrameBudget(COMPANION_SOCKET_LIMIT),
        outbox: new FrameOutbox(() => undefined),
      },
      disconnect,
      emit,
    } as unknown as CompanionSocket;
    const connecting = h.companionConnected(companion);

    // A browser opens a session with it while its presence is being written.
    const atBrowser: TRelayFrame[] = [];
    const browser = {
      id: "browser-1",
      connected: true,
      data: { userId, outbox: new FrameOutbox((fs) => atBrowser.push(...fs)) },
      once: () => undefined,
    };
    const acks: TSocketAck[] = [];
    const hello: TRelayFrame = { ...frame, instanceId, kind: "handshake" };
    h.fromBrowser(browser, hello, (ack) => acks.push(ack));
    await new Promise((r) => setImmediate(r));
    expect(acks).toEqual([{ ok: true }]);

    failWrite(new Error("connection reset"));
    await connecting;
    expect(disconnect).toHaveBeenCalledWith(true);
    expect(log).toHaveBeenCalledWith("companion presence: connection reset");
    // Not a revocation: the companion is not told to stop, only to connect again.
    expect(emit).not.toHaveBeenCalled();
    expect(h.connectedInstanceIds()).toEqual([]);
    expect(atBrowser).toEqual([closeFrame(instanceId, frame.sessionId, "unavailable")]);
    // Its session is gone: a later frame on it is refused.
    h.fromBrowser(browser, { ...hello, kind: "transport" }, (ack) => acks.push(ack));
    expect(acks[1]).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
