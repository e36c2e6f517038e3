import { describe, expect, it } from "vitest";
import {
  AckedOutbox,
  BATCH_ACK_TIMEOUT_MS,
  clientOutbox,
  FrameOutbox,
  IDLE_AFTER_MS,
  MAX_BATCH_FRAME_CHARS,
  MAX_BATCH_WAIT_MS,
  MAX_FRAMES_PER_BATCH,
  messageChannelTurn,
  onRelayFrames,
  readBatchAck,
  ZRelayBatchSchema,
  type TRelayFrame,
  type TSocketAck,
} from "../src/index";

const frame = (n: number, chars = 4): TRelayFrame => ({
  instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
  sessionId: "AAAAAAAAAAAAAAAAAAAAAA",
  kind: "transport",
  frame: String(n).padStart(chars, "0"),
});
const names = (batches: TRelayFrame[][]) => batches.map((b) => b.map((f) => Number(f.frame)));

/** An outbox whose turns end, and whose clock moves, when the test says so. */
function outbox() {
  const turns: (() => void)[] = [];
  const batches: TRelayFrame[][] = [];
  const clock = { ms: 0 };
  const box = new FrameOutbox(
    (frames) => batches.push(frames),
    (fn) => turns.push(fn),
    () => clock.ms,
  );
  const endTurn = () => turns.splice(0).forEach((fn) => fn());
  return { box, batches, endTurn, clock, turns };
}

describe("FrameOutbox", () => {
  it("sends the first frame of a turn at once, and the rest of the turn together at its end, in order", () => {
    const { box, batches, endTurn } = outbox();
    box.push(frame(1));
    expect(names(batches)).toEqual([[1]]); // one request at a time waits for nothing
    box.push(frame(2));
    box.push(frame(3));
    expect(box.queued).toBe(2);
    endTurn();
    box.push(frame(4));
    box.push(frame(5));
    endTurn();
    endTurn(); // a turn with nothing queued sends nothing
    expect(names(batches)).toEqual([[1], [2, 3], [4], [5]]);
    expect(box.queued).toBe(0);
  });

  it("sends a full batch without waiting for the turn: at most MAX_FRAMES_PER_BATCH frames and MAX_BATCH_FRAME_CHARS", () => {
    const { box, batches, endTurn } = outbox();
    for (let i = 0; i <= 2 * MAX_FRAMES_PER_BATCH + 1; i++) box.push(frame(i));
    endTurn();
    expect(batches.map((b) => b.length)).toEqual([1, MAX_FRAMES_PER_BATCH, MAX_FRAMES_PER_BATCH, 1]);
    expect(batches.flat().map((f) => Number(f.frame))).toEqual(Array.from({ length: 130 }, (_, i) => i));

    const big = outbox();
    const chars = Math.floor(MAX_BATCH_FRAME_CHARS / 3) + 1; // three do not fit in one batch
    for (let i = 0; i < 6; i++) big.box.push(frame(i, chars));
    big.endTurn();
    expect(big.batches.map((b) => b.length)).toEqual([1, 2, 2, 1]);
    for (const b of big.batches)
      expect(b.reduce((n, f) => n + f.frame.length, 0)).toBeLessThanOrEqual(MAX_BATCH_FRAME_CHARS);
  });

  it("holds a turn: every frame of it, the first one included, leaves in one batch at its end", () => {
    const { box, batches, endTurn } = outbox();
    box.hold();
    box.push(frame(1));
    box.push(frame(2));
    expect(batches).toEqual([]);
    endTurn();
    // push(frame, true) holds too; holding a turn whose first frame already left changes nothing.
    box.push(frame(3), true);
    box.push(frame(4));
    endTurn();
    box.push(frame(5));
    box.hold();
    box.push(frame(6));
    endTurn();
    box.push(frame(7)); // a new turn that nobody held: at once again
    expect(names(batches)).toEqual([[1, 2], [3, 4], [5], [6], [7]]);
  });

  it('holds the turn for push(frame, "if busy") only when the last frame came less than IDLE_AFTER_MS before', () => {
    const { box, batches, endTurn, clock } = outbox();
    box.push(frame(1), "if busy"); // nothing came before: at once
    box.push(frame(2), "if busy");
    endTurn();
    clock.ms += IDLE_AFTER_MS - 0.01;
    box.push(frame(3), "if busy"); // busy: waits for the end of the turn
    expect(names(batches)).toEqual([[1], [2]]);
    box.push(frame(4));
    endTurn();
    clock.ms += IDLE_AFTER_MS;
    box.push(frame(5), "if busy"); // idle again: at once
    box.push(frame(6), "if busy");
    endTurn();
    expect(names(batches)).toEqual([[1], [2], [3, 4], [5], [6]]);
  });

  it('schedules no end of turn for a frame pushed "if busy" that goes at once; the next frame of the turn holds it', () => {
    const { box, batches, endTurn, clock, turns } = outbox();
    box.push(frame(1), "if busy");
    expect(turns).toHaveLength(0); // one request at a time: no extra turn of the event loop
    box.push(frame(2), "if busy");
    box.push(frame(3), "if busy");
    expect(turns).toHaveLength(1);
    endTurn();
    expect(names(batches)).toEqual([[1], [2, 3]]);
    // A frame pushed without the rule still holds the rest of its turn.
    clock.ms += IDLE_AFTER_MS;
    box.push(frame(4));
    expect(turns).toHaveLength(1);
  });

  it("sends what it has once the oldest queued frame has waited MAX_BATCH_WAIT_MS, so the next hop can start", () => {
    const { box, batches, endTurn, clock } = outbox();
    box.hold();
    box.push(frame(1));
    clock.ms += MAX_BATCH_WAIT_MS / 2;
    box.push(frame(2));
    clock.ms += MAX_BATCH_WAIT_MS / 2; // frame 1 has now waited MAX_BATCH_WAIT_MS
    box.push(frame(3));
    expect(names(batches)).toEqual([[1, 2]]);
    clock.ms += MAX_BATCH_WAIT_MS - 0.01;
    box.push(frame(4));
    endTurn();
    expect(names(batches)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("flush() sends what is queued now; an empty outbox sends nothing", () => {
    const { box, batches, endTurn } = outbox();
    box.flush();
    box.push(frame(1));
    box.push(frame(2));
    box.flush();
    endTurn();
    expect(names(batches)).toEqual([[1], [2]]);
  });
});

describe("the browser's end of a turn (MessageChannel)", () => {
  it("runs what was deferred in one later task, in order, and again for the next turn", async () => {
    const turn = messageChannelTurn();
    const ran: number[] = [];
    turn(() => ran.push(1));
    turn(() => ran.push(2));
    expect(ran).toEqual([]); // not in this task
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual([1, 2]);
    turn(() => ran.push(3));
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual([1, 2, 3]);
  });
});

describe("AckedOutbox", () => {
  /**
   * An acked outbox on a real event loop, its clock stopped (however slow the machine, frames
   * of one turn come less than IDLE_AFTER_MS apart); `answer` acknowledges each batch.
   */
  function acked(answer: (frames: TRelayFrame[]) => unknown) {
    const sent: TRelayFrame[][] = [];
    const box = new AckedOutbox(
      (frames, onAck) => {
        sent.push(frames);
        queueMicrotask(() => onAck(answer(frames)));
      },
      () => 0,
    );
    return { box, sent };
  }

  it("settles each frame with its own result, also the frame sent at once", async () => {
    const notFound: TSocketAck = { ok: false, error: { code: "not_found", message: "Not found.", retryable: false } };
    const { box, sent } = acked((frames) => frames.map((f) => (f.frame === "0002" ? notFound : { ok: true })));
    const results = await Promise.all([1, 2, 3].map((n) => box.send(frame(n))));
    expect(names(sent)).toEqual([[1], [2, 3]]);
    expect(results).toEqual([{ ok: true }, notFound, { ok: true }]);
  });

  it("applies one result for a whole batch to each of its frames, and settles all as unavailable on no or a malformed acknowledgement", async () => {
    const refused: TSocketAck = {
      ok: false,
      error: { code: "validation_failed", message: "Some fields are missing or invalid.", retryable: false },
    };
    const whole = acked(() => refused);
    expect(await Promise.all([1, 2].map((n) => whole.box.send(frame(n))))).toEqual([refused, refused]);
    for (const bad of [undefined, "garbage", [{ ok: true }, { ok: true }, { ok: true }], [{ ok: "yes" }]]) {
      const { box } = acked(() => bad);
      const results = await Promise.all([1, 2].map((n) => box.send(frame(n))));
      for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: "unavailable" } });
    }
  });
});

describe("clientOutbox", () => {
  /** A client socket that answers each `e2e:frames` emit with `reply(frames)` as (error, ack). */
  function socket(reply: (frames: TRelayFrame[]) => [unknown, unknown]) {
    const emits: { event: string; frames: TRelayFrame[]; timeoutMs: number }[] = [];
    return {
      emits,
      timeout: (timeoutMs: number) => ({
        emit: (event: "e2e:frames", frames: TRelayFrame[], ack: (error: unknown, ack: unknown) => void) => {
          emits.push({ event, frames, timeoutMs });
          queueMicrotask(() => ack(...reply(frames)));
        },
      }),
    };
  }

  it("emits `e2e:frames` with the acknowledgement timeout and passes the console's results on", async () => {
    const s = socket((frames) => [null, frames.map(() => ({ ok: true }))]);
    expect(await clientOutbox(s).send(frame(1))).toEqual({ ok: true });
    expect(s.emits).toEqual([{ event: "e2e:frames", frames: [frame(1)], timeoutMs: BATCH_ACK_TIMEOUT_MS }]);
  });

  it("settles every frame of a batch as unavailable when no acknowledgement came in time", async () => {
    const s = socket(() => [new Error("operation has timed out"), undefined]);
    const box = clientOutbox(s);
    const results = await Promise.all([1, 2, 3].map((n) => box.send(frame(n))));
    expect(results).toHaveLength(3);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: "unavailable", retryable: true } });
  });
});

describe("batch schemas and readers", () => {
  it("reads acknowledgements: one per frame, one for all, or null", () => {
    expect(readBatchAck([{ ok: true }, { ok: true }], 2)).toEqual([{ ok: true }, { ok: true }]);
    const body = { ok: false, error: { code: "rate_limited", message: "slow", retryable: true } };
    expect(readBatchAck([{ ok: true }, body], 2)).toEqual([{ ok: true }, body]);
    expect(readBatchAck(body, 3)).toEqual([body, body, body]);
    expect(readBatchAck([{ ok: true }], 2)).toBeNull();
    expect(readBatchAck({ ok: false, error: { code: "no_such_code", message: "", retryable: true } }, 1)).toBeNull();
    expect(readBatchAck(null, 1)).toBeNull();
  });

  it("bounds a batch: 1 to MAX_FRAMES_PER_BATCH frames, each a valid frame", () => {
    expect(ZRelayBatchSchema.safeParse([frame(1)]).success).toBe(true);
    expect(ZRelayBatchSchema.safeParse([]).success).toBe(false);
    expect(
      ZRelayBatchSchema.safeParse(Array.from({ length: MAX_FRAMES_PER_BATCH + 1 }, (_, i) => frame(i))).success,
    ).toBe(false);
    expect(ZRelayBatchSchema.safeParse([frame(1), { ...frame(2), kind: "other" }]).success).toBe(false);
  });

  it("onRelayFrames hands over single frames and the frames of a batch one by one; anything else as it came", () => {
    const listeners = new Map<string, (payload: unknown) => void>();
    const got: unknown[] = [];
    onRelayFrames(
      { on: (event, listener) => listeners.set(event, listener) },
      (f) => got.push(f),
      () => got.push("batch of several"),
    );
    listeners.get("e2e:frame")?.(frame(1));
    listeners.get("e2e:frames")?.([frame(2), frame(3)]);
    listeners.get("e2e:frames")?.([frame(4)]);
    listeners.get("e2e:frames")?.("junk");
    expect(got).toEqual([frame(1), "batch of several", frame(2), frame(3), frame(4), "junk"]);
  });
});
