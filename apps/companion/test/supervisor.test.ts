import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger, createJsonLogger, redactFields } from "../src/log";
import { IDLE_AFTER_MS, MAX_FRAMES_PER_BATCH, type TRelayFrame } from "../src/protocol";
import { backoffDelay, DEFAULT_BACKOFF } from "../src/supervisor/backoff";
import {
  ACK_TIMEOUT_MS,
  describeConnectError,
  LOST_CONNECTION_HELD_MS,
  MAX_OWED_ACKS,
  MAX_OWED_BYTES,
  STABLE_CONNECTION_MS,
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

  it("retries on failure with growing delays, resets after a connection that held, stops when revoked", async () => {
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
    clock.advance(STABLE_CONNECTION_MS);
    s.emit("disconnect", "transport close");
    expect(disconnected).toBe(1);
    expect(clock.pending()).toEqual([750]);
    clock.advance(750);
    transport.sockets[3]?.emit("connect_error", new Error("instance_revoked"));
    expect(await sup.finished).toBe("revoked");
    expect(clock.pending()).toEqual([]);
  });

  it("keeps backing off while the console keeps replacing each connection soon after it is made (a cloned host), and says so", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createJsonLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const { clock, transport, sup } = startSupervisor({ random: () => 0, logger });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = transport.sockets[i] as FakeSocket;
      s.connected = true;
      s.emit("connect");
      clock.advance(1000); // the twin connects and the console drops this one
      s.emit("disconnect", "io server disconnect");
      const [delay = 0] = clock.pending();
      delays.push(delay);
      clock.advance(delay);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000]);
    expect(lines.filter((l) => l.msg === "disconnected from the console")).toEqual([]);
    expect(
      lines.filter((l) => typeof l.msg === "string" && l.msg.includes("replaced by another connection")),
    ).toHaveLength(6);
    expect(lines.find((l) => typeof l.msg === "string" && l.msg.includes("replaced"))).toMatchObject({
      level: "warn",
      reason: "io server disconnect",
      heldMs: 1000,
    });
    // A connection that held the threshold starts over from the first delay.
    const held = transport.sockets[6] as FakeSocket;
    held.connected = true;
    held.emit("connect");
    clock.advance(STABLE_CONNECTION_MS);
    held.emit("disconnect", "transport close");
    expect(clock.pending()).toEqual([500]);
    sup.stop();
  });

  it("after the console closed a connection, resets only past the configured threshold (stableAfterMs); after a lost one, past 5 s", () => {
    const { clock, transport, sup } = startSupervisor({ stableAfterMs: 10 });
    const connectFor = (i: number, ms: number, reason = "io server disconnect"): number => {
      const s = transport.sockets[i] as FakeSocket;
      s.connected = true;
      s.emit("connect");
      clock.advance(ms);
      s.emit("disconnect", reason);
      const [delay = 0] = clock.pending();
      clock.advance(delay);
      return delay;
    };
    expect(connectFor(0, 9)).toBe(500);
    expect(connectFor(1, 9)).toBe(1000);
    expect(connectFor(2, 10)).toBe(500);
    expect(connectFor(3, 1)).toBe(1000);
    // Lost connections: one that held 5 s starts over; ones dropped at once (a console that keeps
    // crashing, a balancer that accepts and drops) are backed off from.
    expect(connectFor(4, LOST_CONNECTION_HELD_MS, "transport close")).toBe(500);
    expect(connectFor(5, 1, "ping timeout")).toBe(1000);
    expect(connectFor(6, 1, "transport close")).toBe(2000);
    sup.stop();
  });

  it("retries an error reading the auth key that isFatal does not name, and stops on one it names", () => {
    let calls = 0;
    const { clock, transport, sup } = startSupervisor({
      isFatal: (error) => error instanceof Error && error.name === "StatePermissionError",
      auth: {
        current: () => {
          const error = new Error(calls++ < 2 ? "EIO: i/o error, read" : "secrets.json is missing: re-enroll");
          error.name = calls <= 2 ? "Error" : "StatePermissionError";
          throw error;
        },
        onRejected: () => false,
      },
    });
    expect(sup.failure).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const [delay = 0] = clock.pending();
      clock.advance(delay);
    }
    expect(sup.failure).toEqual({ name: "StatePermissionError", message: "secrets.json is missing: re-enroll" });
    expect(transport.sockets).toHaveLength(0);
  });

  it("stops with the error, logged once without a stack, when the auth key cannot be read while reconnecting", async () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ write: (l) => lines.push(l) });
    let readable = true;
    const states: { state: string; lastError: string | null }[] = [];
    const { clock, transport, sup } = startSupervisor({
      logger,
      auth: {
        current: () => {
          if (readable) return "k";
          const error = new Error("/state/secrets.json has mode 644; fix it with: chmod 600 '/state/secrets.json'");
          error.name = "StatePermissionError";
          throw error;
        },
        onRejected: () => false,
      },
      onState: (state, detail) => states.push({ state, lastError: detail.lastError }),
    });
    const s = transport.sockets[0] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    readable = false;
    s.emit("disconnect", "transport close");
    // The reconnect runs in a timer: nothing may escape it.
    expect(() => clock.advance(clock.pending()[0] ?? 0)).not.toThrow();
    expect(await sup.finished).toBe("stopped");
    expect(sup.failure).toEqual({
      name: "StatePermissionError",
      message: "/state/secrets.json has mode 644; fix it with: chmod 600 '/state/secrets.json'",
    });
    expect(states.at(-1)).toEqual({
      state: "stopped",
      lastError: "StatePermissionError: /state/secrets.json has mode 644; fix it with: chmod 600 '/state/secrets.json'",
    });
    const errors = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        msg: "stopped: could not connect to the console",
        error: "StatePermissionError",
        message: "/state/secrets.json has mode 644; fix it with: chmod 600 '/state/secrets.json'",
      }),
    ]);
    expect(lines.join("\n")).not.toMatch(/\n\s+at /);
    expect(clock.pending()).toEqual([]);
    // The same from a socket callback: the console refused the key and reading the pending one throws.
    const second = startSupervisor({
      auth: {
        current: () => "k",
        onRejected: () => {
          throw new Error("rotation.json is not valid JSON");
        },
      },
    });
    expect(() => second.transport.sockets[0]?.emit("connect_error", new Error("unauthenticated"))).not.toThrow();
    expect(await second.sup.finished).toBe("stopped");
    expect(second.sup.failure?.message).toBe("rotation.json is not valid JSON");
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

describe("supervisor: batches and the acknowledgements the console owes", () => {
  /** A connected fake socket that keeps the batches it is given; the event loop's turns run by hand. */
  function connected(options: Partial<SupervisorOptions> = {}) {
    const lines: Record<string, unknown>[] = [];
    const logger = createJsonLogger({
      level: "debug",
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const turns: (() => void)[] = [];
    // The outbox's clock moves only when the test says (`idle`): however slow the machine, no
    // frame waits out MAX_BATCH_WAIT_MS, and the outbox is idle only when the test lets time pass.
    const batchTime = { ms: 0 };
    const { clock, transport, sup } = startSupervisor({
      logger,
      deferTurnEnd: (fn) => turns.push(fn),
      batchClock: () => batchTime.ms,
      ...options,
    });
    const s = transport.sockets[0] as FakeSocket;
    s.connected = true;
    s.emit("connect");
    const batches: { frames: TRelayFrame[]; ack: (ack: unknown) => void }[] = [];
    s.emit = ((event: string, ...args: unknown[]) => {
      const [frames, ack] = args;
      if (event === "e2e:frames" && typeof ack === "function")
        batches.push({ frames: frames as TRelayFrame[], ack: ack as (ack: unknown) => void });
      return true;
    }) as FakeSocket["emit"];
    const frame = (n: number): TRelayFrame => ({
      instanceId: "i",
      sessionId: String(n).padStart(22, "s"),
      kind: "transport",
      frame: "AAAA",
    });
    const turn = () => turns.splice(0).forEach((fn) => fn());
    const idle = () => void (batchTime.ms += IDLE_AFTER_MS);
    const messages = () => lines.map((l) => l.msg);
    /** An event from the console (the fake's own emit now records what the supervisor sends). */
    const receive = (event: string, payload: unknown) => EventEmitter.prototype.emit.call(s, event, payload);
    return { clock, transport, sup, batches, frame, turn, idle, lines, messages, receive };
  }

  it("sends a frame that finds the outbox idle at once and the rest of its turn as one batch, in order", () => {
    const { sup, batches, frame, turn, idle } = connected();
    for (let i = 0; i < 3; i++) expect(sup.send(frame(i))).toBe(true);
    expect(batches).toHaveLength(1); // the first at once, the others queued until the end of the turn
    turn();
    sup.send(frame(3)); // still busy: waits for the end of its turn
    expect(batches).toHaveLength(2);
    turn();
    idle();
    sup.send(frame(4)); // idle again: at once
    expect(batches.map((b) => b.frames.map((f) => f.sessionId.at(-1)))).toEqual([["0"], ["1", "2"], ["3"], ["4"]]);
    turn();
    // A full batch goes without waiting; what follows waits for the turn.
    idle();
    for (let i = 0; i < MAX_FRAMES_PER_BATCH + 2; i++) sup.send(frame(i));
    expect(batches.map((b) => b.frames.length)).toEqual([1, 2, 1, 1, 1, MAX_FRAMES_PER_BATCH]);
    turn();
    expect(batches.map((b) => b.frames.length)).toEqual([1, 2, 1, 1, 1, MAX_FRAMES_PER_BATCH, 1]);
    sup.stop();
  });

  it("answers a batch of several requests in one batch: the turn is held, the first answer waits too", () => {
    let answer: (f: TRelayFrame) => void = () => undefined;
    const { batches, frame, turn, idle, receive, sup } = connected({ onFrame: (f) => answer(f) });
    answer = (f) => sup.send({ ...f, frame: "BBBB" });
    const request = (n: number): TRelayFrame => ({ ...frame(n), instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e" });
    receive("e2e:frames", [request(1), request(2), request(3)]);
    expect(batches).toHaveLength(0);
    turn();
    expect(batches.map((b) => b.frames.map((f) => f.sessionId.at(-1)))).toEqual([["1", "2", "3"]]);
    // A lone request (a batch of one, or a single frame) to an idle companion is answered at
    // once; one right after it waits for the end of the turn.
    idle();
    receive("e2e:frames", [request(4)]);
    receive("e2e:frame", request(5));
    expect(batches.map((b) => b.frames.map((f) => f.sessionId.at(-1)))).toEqual([["1", "2", "3"], ["4"]]);
    turn();
    expect(batches.map((b) => b.frames.map((f) => f.sessionId.at(-1)))).toEqual([["1", "2", "3"], ["4"], ["5"]]);
    sup.stop();
  });

  it("logs frames still unacknowledged after ACK_TIMEOUT_MS, and refusals with their code, without a timer per frame", () => {
    const { clock, sup, batches, frame, turn, idle, lines, messages } = connected();
    sup.send(frame(9));
    for (let i = 0; i < 3; i++) sup.send(frame(i));
    turn();
    sup.send(frame(3));
    turn();
    expect(clock.pending()).toEqual([ACK_TIMEOUT_MS]); // one ledger tick, not one timer per frame
    const rateLimited = { ok: false, error: { code: "rate_limited", message: "slow down", retryable: true } };
    batches.shift()?.ack([{ ok: true }]);
    batches[0]?.ack([{ ok: true }, rateLimited, { ok: true }]);
    expect(lines.filter((l) => l.msg === "console refused a frame")).toMatchObject([
      { code: "rate_limited", sessionId: frame(1).sessionId },
    ]);
    clock.advance(ACK_TIMEOUT_MS); // frames of the first tick are not overdue yet
    expect(messages()).not.toContain("console did not acknowledge frames");
    clock.advance(ACK_TIMEOUT_MS);
    expect(lines.find((l) => l.msg === "console did not acknowledge frames")).toMatchObject({ count: 1 });
    // A late acknowledgement settles it (once); malformed ones are named as such and crash nothing.
    batches[1]?.ack([{ ok: true }]);
    batches[1]?.ack([{ ok: true }]);
    const before = lines.length;
    clock.advance(ACK_TIMEOUT_MS);
    expect(lines.length).toBe(before);
    sup.send(frame(4));
    turn();
    batches[2]?.ack("garbage");
    expect(lines.at(-1)).toMatchObject({ msg: "console refused a frame", code: "malformed_ack" });
    sup.send(frame(5));
    turn();
    batches[3]?.ack([{ ok: true }, { ok: true }]); // two results for one frame
    expect(lines.at(-1)).toMatchObject({ msg: "console refused a frame", code: "malformed_ack" });
    // One result for a whole batch the console could not read applies to each of its frames.
    idle();
    sup.send(frame(8));
    sup.send(frame(6));
    sup.send(frame(7));
    turn();
    expect(batches[5]?.frames).toEqual([frame(6), frame(7)]);
    batches[5]?.ack({ ok: false, error: { code: "validation_failed", message: "bad", retryable: false } });
    expect(lines.slice(-2)).toMatchObject([
      { code: "validation_failed", sessionId: frame(6).sessionId },
      { code: "validation_failed", sessionId: frame(7).sessionId },
    ]);
    sup.stop();
  });

  it("drops a batch queued for a connection that is gone", () => {
    const { transport, sup, batches, frame, turn } = connected();
    sup.send(frame(0));
    expect(batches).toHaveLength(1);
    batches.length = 0;
    sup.send(frame(1));
    // (`emit` of this fake now records batches: the event goes through EventEmitter's own.)
    EventEmitter.prototype.emit.call(transport.sockets[0], "disconnect", "transport close");
    turn();
    expect(batches).toHaveLength(0);
    expect(sup.send(frame(1))).toBe(false);
    sup.stop();
  });

  it("drops a connection that owes MAX_OWED_ACKS acknowledgements, which frees their callbacks", () => {
    const { transport, sup, frame, turn, messages } = connected();
    for (let i = 0; i < MAX_OWED_ACKS; i++) sup.send(frame(i));
    turn();
    expect(sup.state).toBe("connected");
    sup.send(frame(0));
    turn();
    expect(messages()).toContain("the console stopped acknowledging frames: reconnecting");
    expect(sup.state).toBe("disconnected");
    expect(transport.sockets[0]?.connected).toBe(false);
    sup.stop();
  });

  /** A frame with `chars` characters of frame text. */
  const sized = (f: TRelayFrame, chars: number): TRelayFrame => ({ ...f, frame: "A".repeat(chars) });
  /** Acknowledges every frame of a batch. */
  const ackAll = (batch: { frames: TRelayFrame[]; ack: (ack: unknown) => void } | undefined): void =>
    batch?.ack(batch.frames.map(() => ({ ok: true })));

  it("drops a connection that owes MAX_OWED_BYTES of frame text: 1,200 frames of 60 KiB, none acknowledged", () => {
    const { clock, transport, sup, frame, turn, lines } = connected();
    expect(1200 * 60 * 1024).toBeGreaterThan(MAX_OWED_BYTES);
    for (let i = 0; i < 1200 && sup.state === "connected"; i++) {
      sup.send(sized(frame(i), 60 * 1024));
      turn();
    }
    expect(sup.state).toBe("disconnected");
    expect(lines.find((l) => l.msg === "the console stopped acknowledging frames: reconnecting")).toMatchObject({
      level: "error",
    });
    const owedBytes = lines.find((l) => l.msg === "the console stopped acknowledging frames: reconnecting")?.owedBytes;
    expect(owedBytes).toBeGreaterThan(MAX_OWED_BYTES);
    expect(owedBytes).toBeLessThanOrEqual(MAX_OWED_BYTES + 128 * 1024);
    expect(transport.sockets[0]?.connected).toBe(false);
    expect(clock.pending()).toEqual([500]); // the reconnect, and no ledger tick of the old connection
    sup.stop();
  });

  it("keeps a connection on a slow uplink: 16 MiB still waiting to go out (owed, unacknowledged) within the tick", () => {
    const { sup, frame, turn } = connected();
    for (let i = 0; i < 280; i++) {
      sup.send(sized(frame(i), 60 * 1024));
      turn();
    }
    expect(sup.state).toBe("connected");
    sup.stop();
  });

  it("drops a connection on which a single frame stays unacknowledged past 3 × ACK_TIMEOUT_MS", () => {
    const { clock, transport, sup, frame, turn, messages } = connected();
    sup.send(frame(0));
    turn();
    clock.advance(ACK_TIMEOUT_MS);
    clock.advance(ACK_TIMEOUT_MS);
    expect(messages()).toContain("console did not acknowledge frames");
    expect(sup.state).toBe("connected");
    clock.advance(ACK_TIMEOUT_MS);
    expect(messages()).toContain("the console stopped acknowledging frames: reconnecting");
    expect(sup.state).toBe("disconnected");
    expect(transport.sockets[0]?.connected).toBe(false);
    sup.stop();
  });

  it("never drops a connection whose acknowledgements arrive, however much it carries: 3,000 frames of 60 KiB over 30 ticks, some acknowledged a tick late", () => {
    const { clock, sup, batches, frame, turn, idle, messages } = connected();
    let acked = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100; i++) {
        expect(sup.send(sized(frame(i), 60 * 1024))).toBe(true);
        turn();
        idle();
        // Every batch is acknowledged at once, except the round's last, which waits past a tick.
        while (acked < batches.length - 1) ackAll(batches[acked++]);
      }
      clock.advance(ACK_TIMEOUT_MS);
      ackAll(batches[acked++]);
    }
    expect(batches.reduce((n, b) => n + b.frames.length, 0)).toBe(3000);
    for (let i = 0; i < 5; i++) clock.advance(ACK_TIMEOUT_MS);
    expect(messages()).not.toContain("the console stopped acknowledging frames: reconnecting");
    expect(messages()).not.toContain("console did not acknowledge frames");
    expect(sup.state).toBe("connected");
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
