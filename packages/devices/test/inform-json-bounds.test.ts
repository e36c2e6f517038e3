import { describe, expect, it } from "vitest";
import {
  checkJsonBounds,
  decodeInformJson,
  DeviceCodecError,
  encodeInformPacket,
  INFORM_DEFAULT_KEY,
  INFORM_MAX_DEPTH,
  INFORM_MAX_PLAINTEXT,
  INFORM_MAX_TOKENS,
} from "../src/index";

const MAC = "02:00:00:00:00:01";
const utf8 = new TextEncoder();

function reason(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    if (error instanceof DeviceCodecError) return error.reason;
    throw error;
  }
}

const packetOf = (text: string): Uint8Array =>
  encodeInformPacket({ mac: MAC, key: INFORM_DEFAULT_KEY, plaintext: utf8.encode(text), compression: "zlib" });

describe("inform JSON shape bounds (checked before JSON.parse)", () => {
  it("a quarter of a million nested arrays (under 1 KiB of zlib) is too_large, refused by the scan, not parsed", () => {
    const deep = packetOf("[".repeat(250_000) + "]".repeat(250_000));
    expect(deep.length).toBeLessThan(4096);
    expect(reason(() => decodeInformJson(deep, INFORM_DEFAULT_KEY))).toBe("too_large");
  });

  it("an array of zeros with more values than INFORM_MAX_TOKENS is too_large; a long string is not", () => {
    const zeros = "[" + "0,".repeat(INFORM_MAX_TOKENS) + "0]";
    expect(zeros.length).toBeLessThan(INFORM_MAX_PLAINTEXT);
    expect(reason(() => decodeInformJson(packetOf(zeros), INFORM_DEFAULT_KEY))).toBe("too_large");
    const text = JSON.stringify({ s: "x".repeat(400_000) });
    expect(reason(() => decodeInformJson(packetOf(text), INFORM_DEFAULT_KEY))).toBe("ok");
  });

  it("counts depth exactly and ignores brackets, quotes and backslashes inside strings", () => {
    const nest = (n: number): string => "[".repeat(n) + "]".repeat(n);
    expect(reason(() => checkJsonBounds(utf8.encode(nest(INFORM_MAX_DEPTH))))).toBe("ok");
    expect(reason(() => checkJsonBounds(utf8.encode(nest(INFORM_MAX_DEPTH + 1))))).toBe("too_large");
    const inString = JSON.stringify({ a: '[[[[{{{{,,,:::\\"[[[' + "[".repeat(1000) });
    expect(reason(() => checkJsonBounds(utf8.encode(inString), 2, 10))).toBe("ok");
    expect(reason(() => checkJsonBounds(utf8.encode('{"a":1,"b":2,"c":3}'), 2, 5))).toBe("too_large");
  });

  it("a real-sized inform passes (a 48-port switch: ~60 fields per port)", () => {
    const port = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field_${i}`, i % 2 ? "text" : i]));
    const inform = { mac: MAC, port_table: Array.from({ length: 52 }, () => ({ ...port, mac_table: [{ mac: MAC }] })) };
    expect(reason(() => decodeInformJson(packetOf(JSON.stringify(inform)), INFORM_DEFAULT_KEY))).toBe("ok");
  });
});
