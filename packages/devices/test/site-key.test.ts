import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeSiteKey, DeviceCodecError, encodeSiteKey } from "../src/index";

const key = {
  url: "wss://192.168.1.2:8443/devices",
  keyId: new Uint8Array(8).fill(1),
  key: new Uint8Array(32).fill(2),
};

describe("site key", () => {
  it("round-trips with and without a pinned fingerprint", () => {
    const text = encodeSiteKey(key);
    expect(text.startsWith("veilsite1_")).toBe(true);
    expect(decodeSiteKey(text)).toEqual(key);
    const pinned = { ...key, certFingerprint: new Uint8Array(32).fill(3) };
    expect(decodeSiteKey(`  ${encodeSiteKey(pinned)}\n`)).toEqual(pinned);
  });

  it("refuses non-wss URLs and wrong sizes", () => {
    expect(() => encodeSiteKey({ ...key, url: "ws://x/" })).toThrow(TypeError);
    expect(() => encodeSiteKey({ ...key, key: new Uint8Array(16) })).toThrow(RangeError);
  });

  it("every changed character or truncation is refused with DeviceCodecError", () => {
    const text = encodeSiteKey(key);
    for (let i = 0; i < text.length; i++) {
      const c = text[i] === "A" ? "B" : "A";
      const mangled = text.slice(0, i) + c + text.slice(i + 1);
      expect(() => decodeSiteKey(mangled)).toThrow(DeviceCodecError);
      expect(() => decodeSiteKey(text.slice(0, i))).toThrow(DeviceCodecError);
    }
  });

  it("arbitrary text throws only DeviceCodecError (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(() => decodeSiteKey(`veilsite1_${s}`)).toThrow(DeviceCodecError);
      }),
    );
  });
});
