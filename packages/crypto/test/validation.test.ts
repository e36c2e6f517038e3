// Input validation: encodings, randomness helpers, primitive selection, labelled errors.
import { describe, expect, it, vi } from "vitest";
import {
  ByteReader,
  concat,
  fromBase64Url,
  fromHex,
  fromUtf8,
  lengthPrefixed,
  readU32be,
  readU64be,
  toBase64Url,
  toHex,
  u16be,
  u32be,
  u64be,
  u8,
  utf8,
} from "../src/encoding";
import { DecryptError, VerifyError, assertBytes } from "../src/errors";
import { getPrimitives, noblePrimitives, setPrimitives } from "../src/primitives/index";
import { constantTimeEqual, generateToken, randomBytes, wipe } from "../src/random";
import {
  assertCaseCount,
  loadSharedText,
  loadSharedTextFrom,
  vectorsPresent,
  type VectorsSource,
} from "./vectors/load";

describe("encoding", () => {
  it("hex: round trip, strict parsing", () => {
    expect(toHex(Uint8Array.of(0, 15, 255))).toBe("000fff");
    expect(fromHex("000FfF")).toEqual(Uint8Array.of(0, 15, 255));
    for (const bad of ["0", "0g", "0x00", " 00", "00 "]) expect(() => fromHex(bad), bad).toThrow(RangeError);
    expect(() => fromHex(1 as never)).toThrow(TypeError);
    expect(() => toHex([1] as never)).toThrow(TypeError);
  });

  it("base64url: RFC 4648 §5 without padding, canonical only", () => {
    const enc = (s: string): string => toBase64Url(utf8(s));
    expect([enc(""), enc("f"), enc("fo"), enc("foo"), enc("foob"), enc("fooba"), enc("foobar")]).toEqual([
      "",
      "Zg",
      "Zm8",
      "Zm9v",
      "Zm9vYg",
      "Zm9vYmE",
      "Zm9vYmFy",
    ]);
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
    expect(fromBase64Url("-_8")).toEqual(Uint8Array.of(0xfb, 0xff));
    for (const bad of ["Zg==", "Z", "Zh", "+/8", "Zm 9v"]) expect(() => fromBase64Url(bad), bad).toThrow(RangeError);
    expect(() => fromBase64Url("Zh")).toThrow(/trailing/); // "Zg" is the canonical form of "f"
  });

  it("base64url: agrees with the platform's btoa on every length and byte, and refuses every stray character", () => {
    const reference = (bytes: Uint8Array): string =>
      btoa(String.fromCharCode(...bytes))
        .replaceAll("+", "-")
        .replaceAll("/", "_")
        .replace(/=+$/, "");
    for (let length = 0; length < 70; length++) {
      for (let round = 0; round < 20; round++) {
        const bytes = Uint8Array.from({ length }, (_, i) => (i * 131 + round * 71 + length * 29 + round * i) & 0xff);
        const text = reference(bytes);
        expect(toBase64Url(bytes)).toBe(text);
        expect(fromBase64Url(text)).toEqual(bytes);
      }
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64Url(toBase64Url(all))).toEqual(all);
    // Every character outside the alphabet, at every position of a 4-character group.
    for (let code = 0; code < 0x180; code++) {
      const c = String.fromCharCode(code);
      if (/[A-Za-z0-9_-]/.test(c)) continue;
      for (let at = 0; at < 4; at++) {
        const bad = "QUJD".slice(0, at) + c + "QUJD".slice(at + 1);
        expect(() => fromBase64Url(bad), JSON.stringify(bad)).toThrow(/malformed/);
        expect(() => fromBase64Url(`QUJD${bad.slice(0, 3)}`), JSON.stringify(bad)).toThrow(RangeError);
      }
    }
    // Non-canonical trailing bits for both short tails.
    for (const [good, bad] of [
      ["QQ", "QR"],
      ["QUI", "QUJ"],
    ] as const) {
      expect(() => fromBase64Url(good)).not.toThrow();
      expect(() => fromBase64Url(bad)).toThrow(/trailing/);
    }
  });

  it("utf8: lone surrogates and invalid bytes are refused", () => {
    expect(fromUtf8(utf8("h\u00e9\u{1f600}"))).toBe("h\u00e9\u{1f600}");
    expect(() => utf8("\ud800")).toThrow(RangeError);
    expect(() => fromUtf8(Uint8Array.of(0xff))).toThrow(RangeError);
  });

  it("integers: big-endian with range checks", () => {
    expect(toHex(u8(255))).toBe("ff");
    expect(toHex(u16be(0x1234))).toBe("1234");
    expect(toHex(u32be(0xdeadbeef))).toBe("deadbeef");
    expect(toHex(u64be(2n ** 64n - 1n))).toBe("ffffffffffffffff");
    expect(toHex(u64be(258))).toBe("0000000000000102");
    expect(readU32be(fromHex("00deadbeef"), 1)).toBe(0xdeadbeef);
    expect(readU64be(fromHex("0000000000000102"))).toBe(258n);
    expect(() => u8(256)).toThrow(RangeError);
    expect(() => u16be(-1)).toThrow(RangeError);
    expect(() => u32be(1.5)).toThrow(TypeError);
    expect(() => u64be(2n ** 64n)).toThrow(RangeError);
    expect(() => u64be(-1)).toThrow(RangeError);
    expect(() => readU32be(new Uint8Array(3))).toThrow(RangeError);
  });

  it("length-prefixed fields and concat", () => {
    expect(toHex(lengthPrefixed("ab"))).toBe("000000026162");
    expect(toHex(concat(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2)))).toBe("0102");
    expect(() => concat(Uint8Array.of(1), "x" as never)).toThrow(/parts\[1\]/);
  });

  it("ByteReader refuses reads past the end", () => {
    const r = new ByteReader(Uint8Array.of(1, 2, 3));
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0203);
    expect(() => r.u8()).toThrow("truncated");
    expect(() => new ByteReader(Uint8Array.of(1)).take(-1)).toThrow("truncated");
  });
});

describe("random and memory helpers", () => {
  it("randomBytes has the requested length and range checks", () => {
    expect(randomBytes(0).length).toBe(0);
    expect(randomBytes(70000).length).toBe(70000);
    expect(randomBytes(32)).not.toEqual(randomBytes(32));
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(TypeError);
  });

  it("generateToken is 256 bits of base64url", () => {
    const t = generateToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fromBase64Url(t).length).toBe(32);
    expect(generateToken()).not.toBe(t);
  });

  it("constantTimeEqual and wipe", () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
    expect(() => constantTimeEqual("a" as never, Uint8Array.of(1))).toThrow(TypeError);
    const s = Uint8Array.of(1, 2, 3);
    wipe(s, undefined, null);
    expect(s).toEqual(new Uint8Array(3));
  });
});

describe("errors", () => {
  it("opaque errors never vary", () => {
    expect(new DecryptError().message).toBe("decryption failed");
    expect(new VerifyError().message).toBe("signature verification failed");
  });
  it("labelled errors name the field and never the content", () => {
    expect(() => assertBytes("secret-value", "password", 32)).toThrow("password must be a Uint8Array, got string");
    expect(() => assertBytes(new Uint8Array(3), "nonce", 24)).toThrow("nonce must be 24 bytes, got 3");
  });
});

describe("primitive selection", () => {
  it("defaults to noble and refuses incomplete implementations", () => {
    expect(getPrimitives()).toBe(noblePrimitives);
    expect(() => setPrimitives({ ...noblePrimitives, sha256: undefined } as never)).toThrow(/primitives\.sha256/);
    expect(() => setPrimitives(null as never)).toThrow(TypeError);
    setPrimitives(noblePrimitives);
    expect(getPrimitives().name).toBe("noble");
  });
});

describe("vector loader (review finding 7)", () => {
  const source = (present: boolean | Error, read: (r: string) => Promise<string>): VectorsSource => ({
    present: () => (present instanceof Error ? Promise.reject(present) : Promise.resolve(present)),
    read,
  });

  it("skips (null) only when the vectors folder itself is absent, and says so in one clear line", async () => {
    let reads = 0;
    const absent = source(false, () => (reads++, Promise.resolve("x")));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      expect(await loadSharedTextFrom(absent, "wycheproof/x25519_test.json")).toBeNull();
      expect(await loadSharedTextFrom(absent, "hpke/rfc9180-appendix-A1-A2.md")).toBeNull();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/\.\.\/shared\/vectors is absent .*SKIPPED/);
    } finally {
      warn.mockRestore();
    }
    expect(reads).toBe(0);
  });

  it("with the folder present, a file that cannot be read fails instead of skipping", async () => {
    const typo = source(true, (r) => Promise.reject(new Error(`ENOENT: ${r}`)));
    await expect(loadSharedTextFrom(typo, "wycheproof/x25519_tset.json")).rejects.toThrow(
      /present but wycheproof\/x25519_tset\.json cannot be read/,
    );
    // an error finding out whether the folder exists is not "absent" either
    await expect(
      loadSharedTextFrom(
        source(new Error("EACCES"), () => Promise.resolve("")),
        "a",
      ),
    ).rejects.toThrow(/EACCES/);
  });

  it("in this environment: a misspelt file fails when the folder is present", async () => {
    if (await vectorsPresent())
      await expect(loadSharedText("wycheproof/no_such_file.json")).rejects.toThrow(/cannot be read/);
    else expect(await loadSharedText("wycheproof/no_such_file.json")).toBeNull();
  });

  it("an empty or truncated Wycheproof file fails its case count", () => {
    const file = { algorithm: "XDH", numberOfTests: 518, testGroups: [{ tests: [] }] };
    expect(() => assertCaseCount(file, "x25519_test.json", 518)).toThrow(/expected 518 cases, found 0/);
  });
});
