import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger, createJsonLogger, redactFields } from "../src/log";
import { backoffDelay, DEFAULT_BACKOFF } from "../src/supervisor/backoff";
import { describeConnectError, Supervisor } from "../src/supervisor/supervisor";
import type { CompanionSocket, ConsoleTransport } from "../src/transport/console-transport";
import { manualClock } from "./harness/manual-clock";

/** A fake socket.io socket the test drives by emitting its events. */
class FakeSocket extends EventEmitter {
  connected = false;
  connect(): this {
    return this;
  }
  disconnect(): this {
    this.connected = false;
    return this;
  }
}

function fakeTransport(): ConsoleTransport & { sockets: FakeSocket[]; auths: string[] } {
  const sockets: FakeSocket[] = [];
  const auths: string[] = [];
  return {
    sockets,
    auths,
    requestJson: () => Promise.reject(new Error("unused")),
    openSocket: (auth) => {
      auths.push(auth.authKey);
      const s = new FakeSocket();
      sockets.push(s);
      return s as unknown as CompanionSocket;
    },
  };
}

describe("supervisor: reconnects with jittered exponential backoff", () => {
  it("backoff doubles, caps, and jitters within [ceiling/2, ceiling]", () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(50, () => 1)).toBe(DEFAULT_BACKOFF.maxMs);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, Math.random);
      expect(d).toBeGreaterThanOrEqual(8000);
      expect(d).toBeLessThanOrEqual(16000);
    }
  });

  it("retries on failure with growing delays, resets after a connection, stops when revoked", async () => {
    const clock = manualClock();
    const transport = fakeTransport();
    let disconnected = 0;
    const sup = new Supervisor({
      instanceId: "i",
      transport,
      auth: { current: () => "k", onRejected: () => false },
      clock,
      random: () => 0.5,
      logger: silentLogger,
      onFrame: () => {},
      onDisconnected: () => disconnected++,
    });
    sup.start();
    expect(transport.sockets.length).toBe(1);
    transport.sockets[0]?.emit("connect_error", new Error("network down"));
    expect(clock.pending()).toEqual([750]);
    clock.advance(750);
    transport.sockets[1]?.emit("connect_error", new Error("x"));
    expect(clock.pending()).toEqual([1500]);
    clock.advance(1500);
    const s = transport.sockets[2] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    expect(sup.state).toBe("connected");
    s.emit("disconnect", "transport close");
    expect(disconnected).toBe(1);
    expect(clock.pending()).toEqual([750]);
    clock.advance(750);
    transport.sockets[3]?.emit("connect_error", new Error("instance_revoked"));
    expect(await sup.finished).toBe("revoked");
    expect(clock.pending()).toEqual([]);
  });

  it("switches to a pending rotation's key once when the console refuses the current one", () => {
    const clock = manualClock();
    const transport = fakeTransport();
    let key = "old";
    let tries = 0;
    const sup = new Supervisor({
      instanceId: "i",
      transport,
      auth: { current: () => key, onRejected: () => (tries++ === 0 ? ((key = "new"), true) : false) },
      clock,
      random: () => 0,
      logger: silentLogger,
      onFrame: () => {},
      onDisconnected: () => {},
    });
    sup.start();
    transport.sockets[0]?.emit("connect_error", new Error("unauthenticated"));
    expect(transport.auths).toEqual(["old", "new"]);
    transport.sockets[1]?.emit("connect_error", new Error("unauthenticated"));
    expect(clock.pending().length).toBe(1);
    sup.stop();
  });

  it("stops on session:ended instance_revoked without reconnecting", async () => {
    const clock = manualClock();
    const transport = fakeTransport();
    const sup = new Supervisor({
      instanceId: "i",
      transport,
      auth: { current: () => "k", onRejected: () => false },
      clock,
      random: () => 0,
      logger: silentLogger,
      onFrame: () => {},
      onDisconnected: () => {},
    });
    sup.start();
    const s = transport.sockets[0] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    s.emit("session:ended", { reason: "instance_revoked" });
    s.emit("disconnect", "io server disconnect");
    expect(await sup.finished).toBe("revoked");
    expect(clock.pending()).toEqual([]);
  });
});

describe("connect errors", () => {
  it("reads the console's code from the message or from an error body in `data`", () => {
    expect(describeConnectError(new Error("instance_revoked"))).toBe("instance_revoked");
    const withBody = Object.assign(new Error("Sign in to continue."), {
      data: { error: { code: "unauthenticated", message: "x", retryable: false } },
    });
    expect(describeConnectError(withBody)).toBe("unauthenticated");
    expect(describeConnectError(new Error("websocket error"))).toBe("network");
  });
});

describe("JSON logs", () => {
  it("redact secret-named fields and emit one JSON object per line", () => {
    const out: string[] = [];
    const log = createJsonLogger({ write: (l) => out.push(l), now: () => 0 });
    log.info("x", { authKey: "AAAA", token: "t", instanceId: "i", frame: "f" });
    expect(JSON.parse(out[0] ?? "")).toEqual({
      ts: "1970-01-01T00:00:00.000Z",
      level: "info",
      msg: "x",
      authKey: "[redacted]",
      token: "[redacted]",
      instanceId: "i",
      frame: "[redacted]",
    });
    expect(redactFields({ long: "a".repeat(1000) }).long).toHaveLength(301);
  });
});
