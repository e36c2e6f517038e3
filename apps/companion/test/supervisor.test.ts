import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger, createJsonLogger, redactFields } from "../src/log";
import { backoffDelay, DEFAULT_BACKOFF } from "../src/supervisor/backoff";
import {
  ACK_TIMEOUT_MS,
  describeConnectError,
  MAX_OWED_ACKS,
  Supervisor,
  type SupervisorOptions,
} from "../src/supervisor/supervisor";
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

/** A started supervisor over a fake transport; `options` replace the defaults. */
function startSupervisor(options: Partial<SupervisorOptions> = {}) {
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
    ...options,
  });
  sup.start();
  return { clock, transport, sup };
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
    let disconnected = 0;
    const { clock, transport, sup } = startSupervisor({ random: () => 0.5, onDisconnected: () => disconnected++ });
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
    let key = "old";
    let tries = 0;
    const { clock, transport, sup } = startSupervisor({
      auth: { current: () => key, onRejected: () => (tries++ === 0 ? ((key = "new"), true) : false) },
    });
    transport.sockets[0]?.emit("connect_error", new Error("unauthenticated"));
    expect(transport.auths).toEqual(["old", "new"]);
    transport.sockets[1]?.emit("connect_error", new Error("unauthenticated"));
    expect(clock.pending().length).toBe(1);
    sup.stop();
  });

  it("stops on session:ended instance_revoked without reconnecting", async () => {
    const { clock, transport, sup } = startSupervisor();
    const s = transport.sockets[0] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    s.emit("session:ended", { reason: "instance_revoked" });
    s.emit("disconnect", "io server disconnect");
    expect(await sup.finished).toBe("revoked");
    expect(clock.pending()).toEqual([]);
  });
});

describe("supervisor: acknowledgements the console owes", () => {
  /** A connected fake socket that keeps the acknowledgement callbacks of the frames it is given. */
  function connected() {
    const lines: Record<string, unknown>[] = [];
    const logger = createJsonLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const { clock, transport, sup } = startSupervisor({ logger });
    const s = transport.sockets[0] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    const acks: ((ack: unknown) => void)[] = [];
    s.emit = ((event: string, ...args: unknown[]) => {
      const last = args.at(-1);
      if (event === "e2e:frame" && typeof last === "function") acks.push(last as (ack: unknown) => void);
      return true;
    }) as FakeSocket["emit"];
    const frame = { instanceId: "i", sessionId: "s".repeat(22), kind: "transport" as const, frame: "AAAA" };
    const messages = () => lines.map((l) => l.msg);
    return { clock, transport, sup, acks, frame, lines, messages };
  }

  it("logs frames still unacknowledged after ACK_TIMEOUT_MS, and refusals with their code, without a timer per frame", () => {
    const { clock, sup, acks, frame, lines, messages } = connected();
    for (let i = 0; i < 3; i++) expect(sup.send(frame)).toBe(true);
    expect(clock.pending()).toEqual([ACK_TIMEOUT_MS]); // one ledger tick, not one timer per frame
    acks[0]?.({ ok: true });
    acks[1]?.({ ok: false, error: { code: "rate_limited", message: "slow down", retryable: true } });
    clock.advance(ACK_TIMEOUT_MS); // frames of the first tick are not overdue yet
    expect(messages()).not.toContain("console did not acknowledge frames");
    clock.advance(ACK_TIMEOUT_MS);
    expect(lines.find((l) => l.msg === "console did not acknowledge frames")).toMatchObject({ count: 1 });
    expect(lines.find((l) => l.msg === "console refused a frame")).toMatchObject({ code: "rate_limited" });
    // A late acknowledgement settles it; a malformed one is named as such and crashes nothing.
    acks[2]?.({ ok: true });
    acks[2]?.({ ok: true });
    const before = lines.length;
    clock.advance(ACK_TIMEOUT_MS);
    expect(lines.length).toBe(before);
    sup.send(frame);
    acks[3]?.("garbage");
    expect(lines.at(-1)).toMatchObject({ msg: "console refused a frame", code: "malformed_ack" });
    sup.stop();
  });

  it("drops a connection that owes MAX_OWED_ACKS acknowledgements, which frees their callbacks", () => {
    const { transport, sup, frame, messages } = connected();
    for (let i = 0; i < MAX_OWED_ACKS; i++) sup.send(frame);
    expect(sup.state).toBe("connected");
    sup.send(frame);
    expect(messages()).toContain("the console stopped acknowledging frames: reconnecting");
    expect(sup.state).toBe("disconnected");
    expect(transport.sockets[0]?.connected).toBe(false);
    sup.stop();
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
