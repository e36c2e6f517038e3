import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildUbdpReply,
  DeviceCodecError,
  parseUbdpProbe,
  parseUbdpReply,
  UBDP_PROBE_V1,
  UBDP_PROBE_V2,
} from "../src/index";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

// A v1 reply assembled from Wireshark packet-ubdp.c: header (version, command, u16 size), then
// TLVs of type u8, length u16 BE, value.
const REPLY = hex(`
  01 00 0049
  01 0006 245a4c010203
  02 000a 245a4c010203 c0a80114
  02 000a 245a4c010204 0a000001
  0a 0004 00015180
  0b 0004 55424e54
  0c 0005 5537504732
  00 0000
  16 0006 362e362e3535
  17 0001 01
`);

describe("UBDP", () => {
  it("probes are 01 00 00 00 (v1) and 02 08 00 00 (v2)", () => {
    expect(Buffer.from(UBDP_PROBE_V1).toString("hex")).toBe("01000000");
    expect(Buffer.from(UBDP_PROBE_V2).toString("hex")).toBe("02080000");
    expect(parseUbdpProbe(UBDP_PROBE_V1)).toBe(1);
    expect(parseUbdpProbe(UBDP_PROBE_V2)).toBe(2);
    expect(parseUbdpProbe(hex("01000001"))).toBeNull();
    expect(parseUbdpProbe(hex("0100000000"))).toBeNull();
  });

  it("parses a reply laid out as packet-ubdp.c describes (0x02 = MAC then IPv4, uptime u32)", () => {
    expect(REPLY.length - 4).toBe(0x49);
    const r = parseUbdpReply(REPLY);
    expect(r.version).toBe(1);
    expect(r.command).toBe(0);
    expect(r.info).toEqual({
      mac: "24:5a:4c:01:02:03",
      addresses: [
        { mac: "24:5a:4c:01:02:03", ip: "192.168.1.20" },
        { mac: "24:5a:4c:01:02:04", ip: "10.0.0.1" },
      ],
      uptime: 86400,
      hostname: "UBNT",
      platform: "U7PG2",
      firmware: "6.6.55",
      isDefault: true,
    });
    expect(r.tlvs.some((t) => t.type === 0)).toBe(false); // the zero-length TLV is skipped
  });

  it("builds the same bytes it parses (v2 response command 0x09)", () => {
    const info = {
      mac: "02:00:00:00:00:09",
      addresses: [{ mac: "02:00:00:00:00:09", ip: "127.0.0.9" }],
      uptime: 12,
      hostname: "ap-9",
      platform: "U6LR",
      model: "U6LR",
      firmware: "6.5.28",
      isDefault: false,
      locating: true,
      sshPort: 22,
    };
    const b = buildUbdpReply(info, 2);
    expect(b[0]).toBe(2);
    expect(b[1]).toBe(9);
    expect(parseUbdpReply(b).info).toEqual(info);
  });

  it("round-trips under fast-check", () => {
    const mac = fc
      .uint8Array({ minLength: 6, maxLength: 6 })
      .map((m) => Array.from(m, (x) => x.toString(16).padStart(2, "0")).join(":"));
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
    fc.assert(
      fc.property(
        mac,
        fc.array(fc.record({ mac, ip }), { maxLength: 4 }),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 40 }),
        (m, addresses, uptime, hostname) => {
          const info = { mac: m, ...(addresses.length ? { addresses } : {}), uptime: uptime >>> 0, hostname };
          expect(parseUbdpReply(buildUbdpReply(info)).info).toEqual(info);
        },
      ),
    );
  });

  it("rejects a length field that disagrees with the size, truncations and extensions", () => {
    for (let n = 0; n < REPLY.length; n++) {
      if (n === 0) continue;
      expect(() => parseUbdpReply(REPLY.subarray(0, n))).toThrow(DeviceCodecError);
    }
    expect(() => parseUbdpReply(Uint8Array.from([...REPLY, 0]))).toThrow(DeviceCodecError);
    const wrongLen = Uint8Array.from(REPLY);
    wrongLen[3] = 0x50;
    expect(() => parseUbdpReply(wrongLen)).toThrow(DeviceCodecError);
    expect(() => parseUbdpReply(hex("03000000"))).toThrow(DeviceCodecError);
    expect(() => parseUbdpReply(new Uint8Array(2000))).toThrow(DeviceCodecError);
  });

  it("arbitrary bytes throw only DeviceCodecError (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const p = Uint8Array.from([1, 0, tail.length >> 8, tail.length & 0xff, ...tail]);
        try {
          parseUbdpReply(p);
        } catch (e) {
          expect(e).toBeInstanceOf(DeviceCodecError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
