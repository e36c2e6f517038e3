// toBase64Url / fromBase64Url run on the platform's own base64 (Uint8Array.prototype.toBase64 and
// Uint8Array.fromBase64 in Chromium, which runs this file in the crypto-browser project; Buffer in
// Node). They must give the portable encoder's text and accept exactly what the portable decoder
// accepts, byte for byte, so one byte string keeps exactly one text form.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64Url, isWellFormed, portableFromBase64Url, portableToBase64Url, toBase64Url } from "../src/encoding";

/** What a decoder does with `text`: its bytes, or "rejected" (always a RangeError). */
function outcome(decode: (text: string) => Uint8Array, text: string): number[] | "rejected" {
  try {
    return [...decode(text)];
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    return "rejected";
  }
}

describe("base64url on the platform's own base64", () => {
  it("encodes exactly as the portable encoder, also for views into a larger buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
        expect(toBase64Url(bytes)).toBe(portableToBase64Url(bytes));
        const padded = new Uint8Array(offset + bytes.length + 5).fill(0xaa);
        padded.set(bytes, offset);
        const view = padded.subarray(offset, offset + bytes.length);
        expect(toBase64Url(view)).toBe(portableToBase64Url(bytes));
      }),
      { numRuns: 2_000 },
    );
  });

  it("accepts and rejects exactly what the portable decoder does", () => {
    // Near-valid text: the alphabet plus padding, the other alphabet, whitespace, NUL and non-ASCII.
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ \n\t\u0000é€".split("");
    const text = fc.array(fc.constantFrom(...chars), { maxLength: 24 }).map((c) => c.join(""));
    const valid = fc.uint8Array({ maxLength: 40 }).map((b) => portableToBase64Url(b));
    fc.assert(
      fc.property(fc.oneof(text, valid), (t) => {
        expect(outcome(fromBase64Url, t)).toEqual(outcome(portableFromBase64Url, t));
      }),
      { numRuns: 5_000 },
    );
    // Every last character after one and after two bytes: only the canonical ones decode.
    for (const prefix of ["QU", "QUJ", "QUJDRA", "QUJDREU"])
      for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        expect(outcome(fromBase64Url, prefix + c), prefix + c).toEqual(outcome(portableFromBase64Url, prefix + c));
    for (const bad of ["Zg==", "Zg=", "Z", "Zh", "+/8", "Zm 9v", " Zm9v", "Zm9v\n", "Zm9\u0000"])
      expect(outcome(fromBase64Url, bad), JSON.stringify(bad)).toBe("rejected");
  });

  it("decodes into a fresh Uint8Array of its own (never a view into a shared pool)", () => {
    const bytes = fromBase64Url("QUJDREVGRw");
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect([...bytes]).toEqual([...new TextEncoder().encode("ABCDEFG")]);
  });

  it("isWellFormed agrees with the definition: no lone surrogate", () => {
    for (const [text, ok] of [
      ["", true],
      ["plain", true],
      ["\ud83d\ude00", true],
      ["\ud83d", false],
      ["\ude00", false],
      ["a\ud83db", false],
      ["\ude00\ud83d", false],
    ] as const)
      expect(isWellFormed(text), JSON.stringify(text)).toBe(ok);
  });
});
