import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as portable from "@veil/crypto";
import { fromBase64Url, toBase64Url } from "../src/crypto";

describe("the companion's native base64url encoder", () => {
  it("writes exactly @veil/crypto's text for every length and offset, and decodes back", () => {
    for (let n = 0; n <= 300; n++) {
      const buf = randomBytes(n + 7);
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset + 3, n); // a view inside a larger buffer
      const text = toBase64Url(bytes);
      expect(text).toBe(portable.toBase64Url(bytes));
      expect(fromBase64Url(text)).toEqual(new Uint8Array(bytes));
    }
    expect(() => toBase64Url("text" as unknown as Uint8Array)).toThrow(TypeError);
  });
});
