// Transport frames: layout, the error taxonomy (replay / gap / forgery / reflection), rekey,
// nonce exhaustion, size caps, close(); and fast-check properties over random schedules.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getPrimitives } from "../src/primitives/index";
import { CipherState, NOISE_MAX_NONCE } from "../src/session/noise";
import {
  Session,
  SESSION_FRAME_HEADER_LEN,
  SESSION_MAX_FRAME,
  SESSION_MAX_PLAINTEXT,
  SessionClosedError,
  SessionError,
  SessionExhaustedError,
  SessionForgeryError,
  SessionFrameError,
  SessionGapError,
  SessionReplayError,
  type SessionErrorCode,
} from "../src/session/index";
import { handshake, toHex, utf8 } from "./session-fixtures";

const p = getPrimitives();

function thrown(fn: () => unknown): SessionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SessionError) return error;
    throw error;
  }
  throw new Error("expected a SessionError, nothing was thrown");
}
const codeOf = (fn: () => unknown): SessionErrorCode => thrown(fn).code;

/** Two sessions over raw CipherStates with known keys, for counter-level tests. */
function rawPair(opts: { n?: bigint; rekeyA?: number; rekeyB?: number } = {}): {
  a: Session;
  b: Session;
  ab: CipherState[];
  ba: CipherState[];
} {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const mk = (k: Uint8Array): CipherState => {
    const c = new CipherState(p);
    c.initializeKey(k);
    c.setNonce(opts.n ?? 0n);
    return c;
  };
  const ab = [mk(k1), mk(k1)];
  const ba = [mk(k2), mk(k2)];
  const hh = new Uint8Array(32);
  const [abSend, abRecv, baSend, baRecv] = [ab[0], ab[1], ba[0], ba[1]] as [
    CipherState,
    CipherState,
    CipherState,
    CipherState,
  ];
  const a = new Session({
    role: "initiator",
    send: abSend,
    receive: baRecv,
    handshakeHash: hh,
    remoteStaticKey: hh,
    rekeyInterval: opts.rekeyA,
  });
  const b = new Session({
    role: "responder",
    send: baSend,
    receive: abRecv,
    handshakeHash: hh,
    remoteStaticKey: hh,
    rekeyInterval: opts.rekeyB,
  });
  return { a, b, ab, ba };
}

describe("session transport: frames", () => {
  it("is version ‖ counter (u64 BE) ‖ ciphertext ‖ tag, and the header is the AEAD's AD", () => {
    const { browser, companion } = handshake();
    browser.seal(utf8("zero"));
    const frame = browser.seal(utf8("one"));
    expect(frame).toHaveLength(SESSION_FRAME_HEADER_LEN + 3 + 16);
    expect(toHex(frame.subarray(0, 9))).toBe("010000000000000001");
    expect(browser.sendCounter).toBe(2n);
    expect(codeOf(() => companion.open(frame))).toBe("gap");
  });

  it("reports each failure class with its own error, before any decryption", () => {
    const { browser, companion } = handshake();
    const f0 = browser.seal(utf8("a"));
    const f1 = browser.seal(utf8("b"));
    expect(thrown(() => companion.open(f1))).toBeInstanceOf(SessionGapError);
    expect(toHex(companion.open(f0))).toBe(toHex(utf8("a")));
    const replay = thrown(() => companion.open(f0));
    expect(replay).toBeInstanceOf(SessionReplayError);
    expect(replay).toMatchObject({ code: "replay", expected: 1n, received: 0n, retryable: false });
    const forged = f1.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    const forgery = thrown(() => companion.open(forged));
    expect(forgery).toBeInstanceOf(SessionForgeryError);
    // no cause and a fixed message: nothing of the primitive's error leaks (review finding 9)
    expect((forgery as Error).cause).toBeUndefined();
    expect("cause" in (forgery as Error)).toBe(false);
    expect((forgery as Error).message).toBe("session frame failed authentication");
    const v2 = f1.slice();
    v2[0] = 2;
    expect(thrown(() => companion.open(v2))).toMatchObject({ code: "unsupported_version", version: 2 });
    expect(thrown(() => companion.open(f1.subarray(0, 24)))).toBeInstanceOf(SessionFrameError);
    expect(companion.receiveCounter).toBe(1n);
    expect(toHex(companion.open(f1))).toBe(toHex(utf8("b")));
    expect(thrown(() => companion.open(new Uint8Array(SESSION_MAX_FRAME + 1)))).toBeInstanceOf(SessionFrameError);
    // Names come from a table keyed by code, so a minified bundle logs the same names.
    expect(thrown(() => companion.open(v2))).toMatchObject({ name: "SessionVersionError" });
  });

  it("a frame reflected to its sender fails authentication when its counter is the expected one: directions have different keys", () => {
    const { browser, companion } = handshake();
    const frame = browser.seal(utf8("to the companion"));
    expect(thrown(() => browser.open(frame))).toBeInstanceOf(SessionForgeryError);
    expect(browser.receiveCounter).toBe(0n);
    expect(toHex(companion.open(frame))).toBe(toHex(utf8("to the companion")));
  });

  it("a reflected frame whose counter is not the expected one fails earlier, as replay or gap", () => {
    const { browser, companion } = handshake();
    const out = [browser.seal(utf8("0")), browser.seal(utf8("1")), browser.seal(utf8("2"))];
    for (const f of out) companion.open(f);
    const back = companion.seal(utf8("reply 0"));
    browser.open(back);
    // the browser now expects counter 1 from the companion: its own frames 0 and 2 come back
    expect(thrown(() => browser.open(out[0] ?? new Uint8Array(0)))).toBeInstanceOf(SessionReplayError);
    expect(thrown(() => browser.open(out[2] ?? new Uint8Array(0)))).toBeInstanceOf(SessionGapError);
    expect(thrown(() => browser.open(out[1] ?? new Uint8Array(0)))).toBeInstanceOf(SessionForgeryError);
    expect(browser.receiveCounter).toBe(1n);
  });

  it("caps plaintext at 65535 − 16 bytes (Noise §3)", () => {
    const { browser, companion } = handshake();
    const big = new Uint8Array(SESSION_MAX_PLAINTEXT).fill(5);
    const frame = browser.seal(big);
    expect(frame).toHaveLength(SESSION_MAX_FRAME);
    expect(companion.open(frame)).toHaveLength(SESSION_MAX_PLAINTEXT);
    expect(() => browser.seal(new Uint8Array(SESSION_MAX_PLAINTEXT + 1))).toThrow(RangeError);
    expect(() => browser.seal(new Uint8Array(SESSION_MAX_PLAINTEXT + 1))).toThrow(/plaintext/);
    expect(() => browser.seal("x" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => browser.open(null as unknown as Uint8Array)).toThrow(/frame/);
    expect(browser.sendCounter).toBe(1n);
  });

  it("close() wipes both keys and refuses further use; idempotent", () => {
    const { a, b, ab, ba } = rawPair();
    const frame = b.seal(utf8("x"));
    a.close();
    a.close();
    expect(a.closed).toBe(true);
    expect(ab[0]?.hasKey()).toBe(false);
    expect(ba[1]?.hasKey()).toBe(false);
    expect(thrown(() => a.seal(utf8("x")))).toBeInstanceOf(SessionClosedError);
    expect(thrown(() => a.open(frame))).toBeInstanceOf(SessionClosedError);
  });
});

describe("session transport: rekey (Noise §11.3) and nonce exhaustion (§5.1)", () => {
  it("rekeys each direction before every counter that is a positive multiple of the interval", () => {
    const { a, b } = rawPair({ rekeyA: 2, rekeyB: 2 });
    const frames = [0, 1, 2, 3, 4].map((i) => a.seal(utf8(`m${i}`)));
    // Model: k0 for 0–1, REKEY(k0) for 2–3, REKEY(REKEY(k0)) for 4.
    const rekey = (k: Uint8Array): Uint8Array =>
      p.chacha20poly1305Seal(k, nonceOf(NOISE_MAX_NONCE), new Uint8Array(32), new Uint8Array(0)).subarray(0, 32);
    const k0 = new Uint8Array(32).fill(1);
    const keys = [k0, k0, rekey(k0), rekey(k0), rekey(rekey(k0))];
    frames.forEach((f, i) => {
      const key = keys[i] ?? k0;
      const header = f.subarray(0, 9);
      expect(toHex(f.subarray(9)), `frame ${i}`).toBe(
        toHex(p.chacha20poly1305Seal(key, nonceOf(BigInt(i)), utf8(`m${i}`), header)),
      );
    });
    frames.slice(0, 2).forEach((f) => b.open(f));
    // A forgery exactly at the boundary must not advance the receiving key.
    const forged = (frames[2] ?? new Uint8Array(0)).slice();
    forged[12] = (forged[12] ?? 0) ^ 4;
    expect(codeOf(() => b.open(forged))).toBe("forgery");
    frames.slice(2).forEach((f, i) => expect(toHex(b.open(f))).toBe(toHex(utf8(`m${i + 2}`))));
  });

  it("keeps the schedule and the counter past 2^32 (counter 2^32 is a multiple of 2^31 and 2^32)", () => {
    for (const interval of [2 ** 31, 2 ** 32]) {
      const { a, b } = rawPair({ n: 2n ** 32n - 2n, rekeyA: interval, rekeyB: interval });
      const frames = [0n, 1n, 2n, 3n].map((i) => a.seal(utf8(`m${i}`)));
      const rekey = (k: Uint8Array): Uint8Array =>
        p.chacha20poly1305Seal(k, nonceOf(NOISE_MAX_NONCE), new Uint8Array(32), new Uint8Array(0)).subarray(0, 32);
      const k0 = new Uint8Array(32).fill(1);
      // Counters 2^32-2 and 2^32-1 under k0; 2^32 is due for a rekey (a positive multiple).
      const keys = [k0, k0, rekey(k0), rekey(k0)];
      frames.forEach((f, i) => {
        const counter = 2n ** 32n - 2n + BigInt(i);
        expect(toHex(f.subarray(1, 9)), `header ${i}`).toBe(counter.toString(16).padStart(16, "0"));
        expect(toHex(f.subarray(9)), `frame ${i}`).toBe(
          toHex(p.chacha20poly1305Seal(keys[i] ?? k0, nonceOf(counter), utf8(`m${i}`), f.subarray(0, 9))),
        );
      });
      // A replay and a gap across the carry are told apart by the whole counter.
      expect(toHex(b.open(frames[0] ?? new Uint8Array(0)))).toBe(toHex(utf8("m0")));
      expect(codeOf(() => b.open(frames[2] ?? new Uint8Array(0)))).toBe("gap");
      expect(toHex(b.open(frames[1] ?? new Uint8Array(0)))).toBe(toHex(utf8("m1")));
      expect(codeOf(() => b.open(frames[1] ?? new Uint8Array(0)))).toBe("replay");
      frames.slice(2).forEach((f, i) => expect(toHex(b.open(f))).toBe(toHex(utf8(`m${i + 2}`))));
      expect([a.sendCounter, b.receiveCounter]).toEqual([2n ** 32n + 2n, 2n ** 32n + 2n]);
    }
  });

  it("ends with different intervals fail at the first boundary", () => {
    const { a, b } = rawPair({ rekeyA: 2, rekeyB: 3 });
    b.open(a.seal(utf8("0")));
    b.open(a.seal(utf8("1")));
    expect(codeOf(() => b.open(a.seal(utf8("2"))))).toBe("forgery");
  });

  it("refuses to send or accept the reserved counter 2^64-1", () => {
    const { a, b } = rawPair({ n: NOISE_MAX_NONCE - 1n, rekeyA: 1 << 30, rekeyB: 1 << 30 });
    expect(toHex(b.open(a.seal(utf8("last"))))).toBe(toHex(utf8("last")));
    expect(a.sendCounter).toBe(NOISE_MAX_NONCE);
    expect(thrown(() => a.seal(utf8("one more")))).toBeInstanceOf(SessionExhaustedError);
    const forged = new Uint8Array(9 + 16);
    forged[0] = 1;
    forged.fill(0xff, 1, 9);
    expect(thrown(() => b.open(forged))).toBeInstanceOf(SessionExhaustedError);
  });
});

function nonceOf(n: bigint): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, n, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Properties. Each run performs a real handshake (a few X25519 operations), so run counts are
// kept moderate; the schedules themselves are long.

const dir = fc.constantFrom(0 as const, 1 as const);
const payload = fc.uint8Array({ maxLength: 96 });

describe("session transport: properties", () => {
  it("random message sequences round-trip in both directions, across rekeys", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dir, data: payload }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (msgs, interval) => {
          const { browser, companion } = handshake({ rekeyInterval: interval });
          for (const m of msgs) {
            const [from, to] = m.dir === 0 ? [browser, companion] : [companion, browser];
            expect(toHex(to.open(from.seal(m.data)))).toBe(toHex(m.data));
          }
          expect(browser.sendCounter).toBe(companion.receiveCounter);
          expect(companion.sendCounter).toBe(browser.receiveCounter);
        },
      ),
      { numRuns: 40 },
    );
  });

  type Action =
    | { kind: "send"; dir: 0 | 1; data: Uint8Array }
    | { kind: "deliver"; dir: 0 | 1 }
    | { kind: "replay"; dir: 0 | 1; pick: number }
    | { kind: "skip"; dir: 0 | 1; ahead: number }
    | { kind: "reflect"; dir: 0 | 1; pick: number };
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({ kind: fc.constant("send" as const), dir, data: payload }),
    fc.record({ kind: fc.constant("deliver" as const), dir }),
    fc.record({ kind: fc.constant("replay" as const), dir, pick: fc.nat() }),
    fc.record({ kind: fc.constant("skip" as const), dir, ahead: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant("reflect" as const), dir, pick: fc.nat() }),
  );

  it("a relay's replays, reorders, drops and reflections are all rejected, and never change state", () => {
    fc.assert(
      fc.property(
        fc.array(action, { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        (actions, interval) => {
          const { browser, companion } = handshake({ rekeyInterval: interval });
          const ends = [browser, companion] as const;
          const sent: [Uint8Array[], Uint8Array[]] = [[], []];
          const plain: [Uint8Array[], Uint8Array[]] = [[], []];
          const delivered = [0, 0];
          for (const act of actions) {
            const d = act.dir;
            const sender = ends[d];
            const receiver = ends[1 - d] ?? companion;
            const queue = sent[d];
            const before = [browser.receiveCounter, companion.receiveCounter];
            const got = delivered[d] ?? 0;
            if (act.kind === "send") {
              queue.push(sender.seal(act.data));
              plain[d].push(act.data);
            } else if (act.kind === "deliver" && got < queue.length) {
              expect(toHex(receiver.open(queue[got] ?? new Uint8Array(0)))).toBe(
                toHex(plain[d][got] ?? new Uint8Array(0)),
              );
              delivered[d] = got + 1;
            } else if (act.kind === "replay" && got > 0) {
              const j = act.pick % got;
              expect(thrown(() => receiver.open(queue[j] ?? new Uint8Array(0)))).toMatchObject({
                code: "replay",
                expected: BigInt(got),
                received: BigInt(j),
              });
            } else if (act.kind === "skip" && got + act.ahead < queue.length) {
              expect(codeOf(() => receiver.open(queue[got + act.ahead] ?? new Uint8Array(0)))).toBe("gap");
            } else if (act.kind === "reflect" && queue.length > 0) {
              const frame = queue[act.pick % queue.length] ?? new Uint8Array(0);
              expect(["replay", "gap", "forgery"]).toContain(codeOf(() => sender.open(frame)));
            }
            if (act.kind !== "deliver") expect([browser.receiveCounter, companion.receiveCounter]).toEqual(before);
          }
          expect(companion.receiveCounter).toBe(BigInt(delivered[0] ?? 0));
          expect(browser.receiveCounter).toBe(BigInt(delivered[1] ?? 0));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a relay that flips any byte of a frame is detected, and the genuine frame still opens", () => {
    fc.assert(
      fc.property(
        payload,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.nat({ max: 3 }),
        dir,
        (data, pos, mask, before, d) => {
          const { browser, companion } = handshake({ rekeyInterval: 2 });
          const [from, to] = d === 0 ? [browser, companion] : [companion, browser];
          for (let i = 0; i < before; i++) to.open(from.seal(utf8(`warm-up ${i}`)));
          const frame = from.seal(data);
          const at = pos % frame.length;
          const forged = frame.slice();
          forged[at] = (forged[at] ?? 0) ^ mask;
          const code = codeOf(() => to.open(forged));
          expect(code).toBe(
            at === 0
              ? "unsupported_version"
              : at < SESSION_FRAME_HEADER_LEN
                ? (forged[at] ?? 0) < (frame[at] ?? 0)
                  ? "replay"
                  : "gap"
                : "forgery",
          );
          const cut = frame.subarray(0, frame.length - 1);
          expect(codeOf(() => to.open(cut))).toBe(
            cut.length < SESSION_FRAME_HEADER_LEN + 16 ? "malformed_frame" : "forgery",
          );
          expect(codeOf(() => to.open(new Uint8Array([...frame, mask])))).toBe("forgery");
          expect(toHex(to.open(frame))).toBe(toHex(data));
        },
      ),
      { numRuns: 60 },
    );
  });
});
