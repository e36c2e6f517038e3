// The end-to-end messages' short way (parseE2ERequest, parseE2EResponse) against their schemas:
// the same answer for every input, and the schema left alone for every well-formed message of the
// shapes the short way covers.
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseE2ERequest, parseE2EResponse, ZE2ERequestSchema, ZE2EResponseSchema } from "../src/index";
import { anyValue, nearUuid, uuid } from "./arbitraries";

afterEach(() => {
  vi.restoreAllMocks();
});

const lower = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz");
const wordChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
const word = (rest: fc.Arbitrary<string>, max: number) =>
  fc.tuple(lower, fc.string({ unit: rest, maxLength: max })).map(([a, b]) => a + b);
/** Request type names the schema takes: dotted words, up to and just past its 64 characters. */
const requestType = fc
  .tuple(word(wordChar, 20), fc.array(word(fc.oneof(wordChar, fc.constant("-")), 20), { maxLength: 3 }))
  .map(([first, rest]) => [first, ...rest].join("."));
/** Type names that are often not: odd characters, empty words, a capital first letter. */
const nearType = fc.string({ unit: fc.constantFrom(..."aZ09.-_ é"), maxLength: 70 });
const count = fc.oneof(
  fc.nat(),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -1, 1.5, Number.NaN, Infinity),
  fc.maxSafeNat(),
);

const request = fc.record({
  kind: fc.constant("request"),
  id: uuid,
  expiresAt: fc.maxSafeNat(),
  type: requestType,
  body: anyValue,
});
const result = fc.record({ kind: fc.constant("result"), id: uuid, type: requestType, body: anyValue });
const event = fc.record({
  kind: fc.constant("event"),
  subscriptionId: uuid,
  seq: fc.maxSafeNat(),
  type: requestType,
  body: anyValue,
});
const error = fc.record({
  kind: fc.constant("error"),
  id: fc.oneof(uuid, fc.constant(null)),
  error: fc.record({
    code: fc.constantFrom("bad_request", "forbidden", "internal"),
    message: fc.string({ maxLength: 20 }),
    retryable: fc.boolean(),
  }),
});
const end = fc.record({
  kind: fc.constant("end"),
  subscriptionId: uuid,
  reason: fc.constantFrom("cancelled", "session_closed", "error"),
});

/** A message with one field replaced, removed or added, its fields just outside the rules, or anything at all. */
function mutated(
  wellFormed: fc.Arbitrary<Record<string, unknown>>,
  keys: readonly string[],
  near: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<unknown> {
  return fc.oneof(
    wellFormed,
    fc.tuple(wellFormed, fc.constantFrom(...keys), anyValue).map(([m, key, v]) => ({ ...m, [key]: v })),
    fc.tuple(wellFormed, fc.constantFrom(...keys)).map(([m, key]) => {
      const copy: Record<string, unknown> = { ...m };
      delete copy[key];
      return copy;
    }),
    fc.tuple(wellFormed, fc.constantFrom(...keys)).map(([m, key]) => ({ ...m, [key]: undefined })),
    fc
      .tuple(wellFormed, fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor")), anyValue)
      .map(([m, key, v]) => JSON.parse(JSON.stringify({ ...m, [key]: v }) ?? "null") as unknown),
    // The same keys inherited, or an extra key inherited: for…in sees both.
    wellFormed.map((m) => Object.assign(Object.create({ extra: 1 }) as object, m)),
    wellFormed.map((m) => Object.create(m) as unknown),
    wellFormed.map((m) => Object.assign([], m)),
    near,
    anyValue,
  );
}

const nearRequest = fc.record({
  kind: fc.constantFrom("request", "Request", "result", ""),
  id: fc.oneof(uuid, nearUuid),
  expiresAt: count,
  type: fc.oneof(requestType, nearType),
  body: anyValue,
});
const nearResponse = fc.oneof(
  fc.record({
    kind: fc.constantFrom("result", "event", "Result"),
    id: fc.oneof(uuid, nearUuid),
    type: nearType,
    body: anyValue,
  }),
  fc.record({
    kind: fc.constantFrom("event", "result", "end"),
    subscriptionId: fc.oneof(uuid, nearUuid),
    seq: count,
    type: fc.oneof(requestType, nearType),
    body: anyValue,
  }),
);

/** `parse` reads every message `wellFormed` makes without calling `schema`, and gets the schema's result. */
function takesTheShortWay(
  wellFormed: fc.Arbitrary<unknown>,
  schema: { safeParse: (raw: unknown) => { data?: unknown } },
  parse: (raw: unknown) => unknown,
): void {
  fc.assert(
    fc.property(wellFormed, (m) => {
      const expected = schema.safeParse(m).data;
      const spy = vi.spyOn(schema, "safeParse");
      const parsed = parse(m);
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
      expect(parsed).not.toBeNull();
      expect(parsed).toEqual(expected);
    }),
    { numRuns: 1000 },
  );
}

const requestBySchema = (raw: unknown) => ZE2ERequestSchema.safeParse(raw).data ?? null;
const responseBySchema = (raw: unknown) => ZE2EResponseSchema.safeParse(raw).data ?? null;

describe("parseE2ERequest", () => {
  it("reads every well-formed request without the schema, with the schema's result", () => {
    takesTheShortWay(request, ZE2ERequestSchema, parseE2ERequest);
  });

  it("gives the schema's answer for any input", () => {
    fc.assert(
      fc.property(mutated(request, ["kind", "id", "expiresAt", "type", "body"], nearRequest), (raw) => {
        expect(parseE2ERequest(raw)).toEqual(requestBySchema(raw));
      }),
      { numRuns: 5000 },
    );
  });

  it("copies the request in the schema's key order and keeps the body as it came", () => {
    const body = { deviceId: "x" };
    const raw = {
      body,
      type: "devices.get",
      expiresAt: 5,
      id: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e",
      kind: "request",
    };
    const parsed = parseE2ERequest(raw);
    expect(Object.keys(parsed ?? {})).toEqual(["kind", "id", "expiresAt", "type", "body"]);
    expect(parsed?.body).toBe(body);
    expect(parsed).not.toBe(raw);
  });

  it("holds the type at 64 characters and the expiry within safe integers", () => {
    const m = { kind: "request", id: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e", expiresAt: 5, type: "ping", body: {} };
    expect(parseE2ERequest({ ...m, type: "a".repeat(64) })).not.toBeNull();
    expect(parseE2ERequest({ ...m, type: "a".repeat(65) })).toBeNull();
    expect(parseE2ERequest({ ...m, expiresAt: Number.MAX_SAFE_INTEGER })).not.toBeNull();
    expect(parseE2ERequest({ ...m, expiresAt: Number.MAX_SAFE_INTEGER + 1 })).toBeNull();
    expect(parseE2ERequest({ ...m, expiresAt: -1 })).toBeNull();
    expect(parseE2ERequest({ ...m, body: undefined })).not.toBeNull();
    const { body: _, ...withoutBody } = m;
    expect(parseE2ERequest(withoutBody)).toBeNull();
  });
});

describe("parseE2EResponse", () => {
  it("reads every well-formed result and stream event without the schema, with the schema's result", () => {
    takesTheShortWay(fc.oneof(result, event), ZE2EResponseSchema, parseE2EResponse);
  });

  it("gives the schema's answer for any input, errors and stream ends included", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(result, ["kind", "id", "type", "body"], nearResponse),
          mutated(event, ["kind", "subscriptionId", "seq", "type", "body"], nearResponse),
          mutated(error, ["kind", "id", "error"], nearResponse),
          mutated(end, ["kind", "subscriptionId", "reason"], nearResponse),
        ),
        (raw) => {
          expect(parseE2EResponse(raw)).toEqual(responseBySchema(raw));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("still parses errors and stream ends, through the schema", () => {
    const error = {
      kind: "error",
      id: null,
      error: { code: "bad_request", message: "no", retryable: false },
    };
    expect(parseE2EResponse(error)).toEqual(error);
    const end = { kind: "end", subscriptionId: "3f0c2a4e-8a43-4c1e-9d4b-6f1a2b3c4d5e", reason: "cancelled" };
    expect(parseE2EResponse(end)).toEqual(end);
    expect(parseE2EResponse({ ...end, reason: "bored" })).toBeNull();
  });
});
