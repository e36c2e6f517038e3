// fast-check generators the short-way tests share (relay-frame.test.ts, e2e-messages.test.ts).
import fc from "fast-check";

const hex = (n: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: n, maxLength: n });

/**
 * UUIDs of every version and variant (the schema takes versions 1–8, variants 8–b, nil and max), in
 * lower case: an upper-case one is malformed (`nearUuid` makes those).
 */
export const uuid = fc.oneof(
  fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] }),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
);

/** Things that look like UUIDs and often are not: any hex digit, either case, in any place. */
export const nearUuid = fc
  .tuple(hex(8), hex(4), hex(4), hex(4), hex(12), fc.constantFrom("", " ", "\n", "0"))
  .map(([a, b, c, d, e, tail]) => `${a}-${b}-${c}-${d}-${e}${tail}`);

/** Any value at all, with the plain ones that matter most made likely. */
export const anyValue = fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.constant(undefined), fc.constant(null));
