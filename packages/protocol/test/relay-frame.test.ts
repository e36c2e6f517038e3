// The relay frame's short way (parseRelayFrame, parseRelayBatch) against its schema: the same
// answer for every input, and the short way taken for every well-formed frame.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_E2E_FRAME_BYTES,
  MAX_FRAMES_PER_BATCH,
  parseRelayBatch,
  parseRelayFrame,
  wellFormedFrame,
  ZRelayBatchSchema,
  ZRelayFrameSchema,
} from "../src/index";
import { anyValue, nearUuid, uuid } from "./arbitraries";

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const MAX_FRAME_CHARS = Math.ceil((MAX_E2E_FRAME_BYTES * 4) / 3);

const b64u = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...B64U), minLength: min, maxLength: max });
/** Text that is mostly base64url, with now and then a character that is not. */
const nearB64u = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(...B64U) },
      { weight: 1, arbitrary: fc.constantFrom("=", "+", "/", " ", "\n", ".", "é", "\u0000") },
    ),
    minLength: min,
    maxLength: max,
  });

const wellFormed = fc.record({
  instanceId: uuid,
  sessionId: b64u(22, 22),
  kind: fc.constantFrom("handshake", "transport", "close"),
  frame: b64u(0, 400),
});

/** A frame with one field replaced, removed or added, or its text just outside the rules. */
const mutated = fc.oneof(
  wellFormed,
  fc.tuple(wellFormed, fc.constantFrom("instanceId", "sessionId", "kind", "frame"), anyValue).map(([f, key, v]) => ({
    ...f,
    [key]: v,
  })),
  fc.tuple(wellFormed, fc.constantFrom("instanceId", "sessionId", "kind", "frame")).map(([f, key]) => {
    const copy: Record<string, unknown> = { ...f };
    delete copy[key];
    return copy;
  }),
  fc.tuple(wellFormed, fc.string(), anyValue).map(([f, key, v]) => ({ ...f, [key]: v })),
  fc.record({
    instanceId: fc.oneof(uuid, nearUuid),
    sessionId: nearB64u(20, 24),
    kind: fc.constantFrom("handshake", "transport", "close", "Transport", "data", ""),
    frame: nearB64u(0, 64),
  }),
  anyValue,
);

/** A well-formed frame (a close without a reason). */
const CLOSE = {
  instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
  sessionId: "A".repeat(22),
  kind: "close",
  frame: "",
};

/** What the schema alone makes of `raw`: its data, or null. */
const bySchema = (raw: unknown) => {
  const parsed = ZRelayFrameSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
};

describe("parseRelayFrame", () => {
  it("takes the short way for every well-formed frame, with the schema's result", () => {
    fc.assert(
      fc.property(wellFormed, (f) => {
        expect(wellFormedFrame(f)).toEqual(bySchema(f));
        expect(wellFormedFrame(f)).not.toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it("gives the schema's answer for any input, and the short way accepts only what the schema accepts", () => {
    fc.assert(
      fc.property(mutated, (raw) => {
        const short = wellFormedFrame(raw);
        if (short !== null) expect(short).toEqual(bySchema(raw));
        expect(parseRelayFrame(raw)).toEqual(bySchema(raw));
      }),
      { numRuns: 5000 },
    );
  });

  it("refuses an instance id in upper case, as the schema does", () => {
    const f = { ...CLOSE, instanceId: CLOSE.instanceId.toUpperCase() };
    expect(f.instanceId).not.toBe(CLOSE.instanceId);
    expect(parseRelayFrame(f)).toBeNull();
    expect(ZRelayFrameSchema.safeParse(f).success).toBe(false);
  });

  it("drops unknown keys and returns a copy, as the schema does", () => {
    const f = CLOSE;
    const parsed = parseRelayFrame({ ...f, extra: "x", __proto__: { inherited: 1 } });
    expect(parsed).toEqual(f);
    expect(Object.keys(parsed ?? {})).toEqual(["instanceId", "sessionId", "kind", "frame"]);
  });

  it("holds the lengths at their edges: the session id exactly 22 characters, the frame at most the largest Noise message", () => {
    const f = { instanceId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e", sessionId: "A".repeat(22), kind: "transport" };
    expect(parseRelayFrame({ ...f, frame: "A".repeat(MAX_FRAME_CHARS) })).not.toBeNull();
    expect(parseRelayFrame({ ...f, frame: "A".repeat(MAX_FRAME_CHARS + 1) })).toBeNull();
    for (const n of [21, 23]) expect(parseRelayFrame({ ...f, sessionId: "A".repeat(n), frame: "" })).toBeNull();
    // An array with the frame's keys is not a frame.
    expect(parseRelayFrame(Object.assign([], { ...f, frame: "" }))).toBeNull();
  });
});

describe("parseRelayBatch", () => {
  it("gives the schema's answer for batches of any length, well-formed or not", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(wellFormed, { minLength: 0, maxLength: MAX_FRAMES_PER_BATCH + 2 }),
          fc.array(mutated, { minLength: 1, maxLength: 8 }),
          anyValue,
        ),
        (raw) => {
          const parsed = ZRelayBatchSchema.safeParse(raw);
          expect(parseRelayBatch(raw)).toEqual(parsed.success ? parsed.data : null);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses a sparse batch and one past MAX_FRAMES_PER_BATCH", () => {
    const f = CLOSE;
    const sparse: unknown[] = [f];
    sparse[2] = f;
    expect(parseRelayBatch(sparse)).toBeNull();
    expect(parseRelayBatch(new Array(MAX_FRAMES_PER_BATCH).fill(f))).toHaveLength(MAX_FRAMES_PER_BATCH);
    expect(parseRelayBatch(new Array(MAX_FRAMES_PER_BATCH + 1).fill(f))).toBeNull();
    expect(parseRelayBatch([])).toBeNull();
  });
});
