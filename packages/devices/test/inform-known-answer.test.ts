import { createCipheriv, createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decodeInformJson,
  decodeInformPacket,
  encodeInformPacket,
  INFORM_DEFAULT_KEY,
  parseInformHeader,
} from "../src/index";

// Known-answer packets assembled here byte by byte from the public TNBU layout
// (ZAP-Quebec/unifi-inform packet.go, jrjparks/OpnFi-rs inform/mod.rs); the ciphertext is
// computed with node:crypto directly, never through the codec under test.
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const KEY = hex("000102030405060708090a0b0c0d0e0f");
const IV = hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
const MAC = "24:5a:4c:01:02:03";
const JSON_TEXT = '{"mac":"24:5a:4c:01:02:03","model":"U7PG2","version":"6.6.55"}';
const header = (flags: string, len: number): Buffer =>
  hex(
    `544e4255 00000000 245a4c010203 ${flags} a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 00000001 ${len.toString(16).padStart(8, "0")}`,
  );

describe("TNBU known answers", () => {
  it("the default key is md5('ubnt') = ba86f2bbe107c7c57eb5f2690775c712", () => {
    expect(Buffer.from(INFORM_DEFAULT_KEY).toString("hex")).toBe("ba86f2bbe107c7c57eb5f2690775c712");
    expect(createHash("md5").update("ubnt").digest("hex")).toBe("ba86f2bbe107c7c57eb5f2690775c712");
  });

  it("AES-128-CBC, no compression (flags 0x0001)", () => {
    const c = createCipheriv("aes-128-cbc", KEY, IV);
    const ct = Buffer.concat([c.update(JSON_TEXT), c.final()]);
    expect(ct.length).toBe(64); // 62 bytes + 2 bytes PKCS#7 padding
    const expected = Buffer.concat([header("0001", 64), ct]);
    const built = encodeInformPacket({
      mac: MAC,
      key: KEY,
      iv: IV,
      cipher: "cbc",
      compression: "none",
      plaintext: Buffer.from(JSON_TEXT),
    });
    expect(Buffer.from(built).toString("hex")).toBe(expected.toString("hex"));
    expect(Buffer.from(decodeInformPacket(expected, KEY).plaintext).toString()).toBe(JSON_TEXT);
  });

  it("AES-128-CBC with zlib (flags 0x0003)", () => {
    const z = deflateSync(JSON_TEXT);
    const c = createCipheriv("aes-128-cbc", KEY, IV);
    const ct = Buffer.concat([c.update(z), c.final()]);
    const packet = Buffer.concat([header("0003", ct.length), ct]);
    expect(decodeInformJson(packet, KEY).json).toEqual(JSON.parse(JSON_TEXT));
    expect(
      Buffer.from(
        encodeInformPacket({
          mac: MAC,
          key: KEY,
          iv: IV,
          cipher: "cbc",
          compression: "zlib",
          plaintext: Buffer.from(JSON_TEXT),
        }),
      ).equals(packet),
    ).toBe(true);
  });

  it("AES-128-GCM with zlib (flags 0x000a): 16-byte IV, the 40-byte header as AAD, tag appended", () => {
    const z = deflateSync(JSON_TEXT);
    const h = header("000a", z.length + 16);
    const c = createCipheriv("aes-128-gcm", KEY, IV, { authTagLength: 16 });
    c.setAAD(h);
    const payload = Buffer.concat([c.update(z), c.final(), c.getAuthTag()]);
    const packet = Buffer.concat([h, payload]);
    const built = encodeInformPacket({
      mac: MAC,
      key: KEY,
      iv: IV,
      cipher: "gcm",
      compression: "zlib",
      plaintext: Buffer.from(JSON_TEXT),
    });
    expect(Buffer.from(built).toString("hex")).toBe(packet.toString("hex"));
    const decoded = decodeInformPacket(packet, KEY);
    expect(decoded.header.mac).toBe(MAC);
    expect(decoded.header.cipher).toBe("gcm");
    expect(Buffer.from(decoded.plaintext).toString()).toBe(JSON_TEXT);
  });

  it("AES-128-GCM accepts flags 0x0009 (CBC bit beside GCM) as GCM", () => {
    const h = header("0009", JSON_TEXT.length + 16);
    const c = createCipheriv("aes-128-gcm", KEY, IV, { authTagLength: 16 });
    c.setAAD(h);
    const packet = Buffer.concat([h, c.update(JSON_TEXT), c.final(), c.getAuthTag()]);
    expect(Buffer.from(decodeInformPacket(packet, KEY).plaintext).toString()).toBe(JSON_TEXT);
  });

  it("AES-128-GCM with snappy (flags 0x000c), a raw snappy block typed out by hand", () => {
    const text = '{"a":1}';
    // Snappy block format: varint uncompressed length (7), literal tag ((7-1)<<2 | 0 = 0x18), bytes.
    const snappy = Buffer.concat([hex("07 18"), Buffer.from(text)]);
    const h = header("000c", snappy.length + 16);
    const c = createCipheriv("aes-128-gcm", INFORM_DEFAULT_KEY, IV, { authTagLength: 16 });
    c.setAAD(h);
    const packet = Buffer.concat([h, c.update(snappy), c.final(), c.getAuthTag()]);
    expect(decodeInformJson(packet, INFORM_DEFAULT_KEY).json).toEqual({ a: 1 });
    const built = encodeInformPacket({
      mac: MAC,
      key: INFORM_DEFAULT_KEY,
      iv: IV,
      cipher: "gcm",
      compression: "snappy",
      plaintext: Buffer.from(text),
    });
    expect(Buffer.from(built).toString("hex")).toBe(packet.toString("hex"));
  });

  it("parses the header without a key", () => {
    const h = header("0001", 16);
    const hdr = parseInformHeader(Buffer.concat([h, Buffer.alloc(16)]));
    expect(hdr).toMatchObject({ mac: MAC, flags: 1, cipher: "cbc", compression: "none", payloadLength: 16 });
    expect(Buffer.from(hdr.iv).equals(IV)).toBe(true);
  });
});
