import { createCipheriv } from "node:crypto";
import { deflateSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeInformPacket,
  DeviceCodecError,
  encodeInformPacket,
  INFORM_MAX_PAYLOAD,
  INFORM_MAX_PLAINTEXT,
  type InformCipher,
  type InformCompression,
} from "../src/index";

const KEY = Buffer.alloc(16, 7);
const OTHER = Buffer.alloc(16, 8);
const MAC = "02:00:00:00:00:01";
const sample = (cipher: InformCipher, compression: InformCompression): Uint8Array =>
  encodeInformPacket({
    mac: MAC,
    key: KEY,
    cipher,
    compression,
    plaintext: Buffer.from(JSON.stringify({ hello: "world", n: [1, 2, 3] })),
  });

/** Runs fn and returns the DeviceCodecError reason, "ok" on success; rethrows anything else. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof DeviceCodecError) return err.reason;
    throw err;
  }
}

const combos: [InformCipher, InformCompression][] = [
  ["gcm", "none"],
  ["gcm", "zlib"],
  ["gcm", "snappy"],
  ["cbc", "none"],
  ["cbc", "zlib"],
  ["cbc", "snappy"],
];

describe("inform packets: round trip", () => {
  it("decode(encode(x)) = x for every cipher and compression (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom(...combos),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        (data, [cipher, compression], mac) => {
          const m = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
          const packet = encodeInformPacket({ mac: m, key: KEY, cipher, compression, plaintext: data });
          const out = decodeInformPacket(packet, KEY);
          expect(out.header.mac).toBe(m);
          expect(Buffer.from(out.plaintext).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("inform packets: every mutation is refused with DeviceCodecError only", () => {
  for (const [cipher, compression] of combos) {
    it(`${cipher}+${compression}: every truncation and extension`, () => {
      const p = sample(cipher, compression);
      for (let n = 0; n < p.length; n++)
        expect(outcome(() => decodeInformPacket(p.subarray(0, n), KEY))).not.toBe("ok");
      for (const extra of [Uint8Array.of(0), Uint8Array.of(0xff, 1, 2)]) {
        const longer = new Uint8Array(p.length + extra.length);
        longer.set(p);
        longer.set(extra, p.length);
        expect(outcome(() => decodeInformPacket(longer, KEY))).toBe("malformed");
      }
    });

    it(`${cipher}+${compression}: every flipped byte`, () => {
      const p = sample(cipher, compression);
      let accepted = 0;
      for (let i = 0; i < p.length; i++) {
        const q = Uint8Array.from(p);
        q[i] = (q[i] ?? 0) ^ 0x01;
        const r = outcome(() => decodeInformPacket(q, KEY));
        if (r === "ok") accepted++;
        // GCM authenticates header and payload: nothing may pass. CBC (legacy) authenticates
        // nothing: a flipped MAC, IV or ciphertext bit can decode to altered bytes, as on real
        // controllers; the codec still throws nothing but DeviceCodecError (outcome rethrows
        // anything else) and the JSON schema layer rejects what garbles.
        if (cipher === "gcm") expect(r, `byte ${i}`).not.toBe("ok");
        // For CBC the header's own fields still bind: magic, packet version, flags, payload
        // version and length (bytes 0–7, 14–15, 32–39). Only the MAC, IV and payload can change.
        const bound = i < 8 || i === 14 || i === 15 || (i >= 32 && i < 40);
        if (bound) expect(r, `header byte ${i}`).not.toBe("ok");
      }
      if (cipher === "gcm") expect(accepted).toBe(0);
    });
  }

  it("a wrong key is one opaque error, the same for CBC padding and GCM tags", () => {
    for (const [cipher, compression] of combos) {
      const p = sample(cipher, compression);
      let err: unknown;
      try {
        decodeInformPacket(p, OTHER);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DeviceCodecError);
      expect((err as DeviceCodecError).reason).toBe("auth_failed");
      expect((err as DeviceCodecError).message).toBe("The device frame could not be authenticated.");
    }
  });

  it("random bytes never throw anything but DeviceCodecError (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, tnbu) => {
        const bytes = tnbu ? Uint8Array.from([0x54, 0x4e, 0x42, 0x55, ...tail]) : tail;
        expect(outcome(() => decodeInformPacket(bytes, KEY))).not.toBe("ok");
      }),
      { numRuns: 500 },
    );
  });

  it("refuses unknown flags, unencrypted packets, zlib+snappy, and oversize lengths", () => {
    const p = sample("gcm", "none");
    const withFlags = (f: number): Uint8Array => {
      const q = Uint8Array.from(p);
      q[14] = f >> 8;
      q[15] = f & 0xff;
      return q;
    };
    expect(outcome(() => decodeInformPacket(withFlags(0x0000), KEY))).toBe("unsupported");
    expect(outcome(() => decodeInformPacket(withFlags(0x0002), KEY))).toBe("unsupported");
    expect(outcome(() => decodeInformPacket(withFlags(0x0016), KEY))).toBe("unsupported");
    expect(outcome(() => decodeInformPacket(withFlags(0x0108), KEY))).toBe("unsupported");
    const big = Uint8Array.from(p);
    new DataView(big.buffer).setUint32(36, INFORM_MAX_PAYLOAD + 1);
    expect(outcome(() => decodeInformPacket(big, KEY))).toBe("too_large");
  });

  it("caps decompressed size (zlib bomb) with too_large", () => {
    const bomb = encodeInformPacket({
      mac: MAC,
      key: KEY,
      cipher: "gcm",
      compression: "zlib",
      plaintext: new Uint8Array(INFORM_MAX_PLAINTEXT),
    });
    expect(outcome(() => decodeInformPacket(bomb, KEY))).toBe("ok");
    // 5 MiB of zeros compresses to a few KiB but exceeds the 512 KiB plaintext cap.
    const z = deflateSync(Buffer.alloc(5 * 1024 * 1024));
    const iv = Buffer.alloc(16, 1);
    const h = Buffer.from(
      `544e425500000000020000000001000a${iv.toString("hex")}00000001${(z.length + 16).toString(16).padStart(8, "0")}`,
      "hex",
    );
    const c = createCipheriv("aes-128-gcm", KEY, iv, { authTagLength: 16 });
    c.setAAD(h);
    const packet = Buffer.concat([h, c.update(z), c.final(), c.getAuthTag()]);
    expect(outcome(() => decodeInformPacket(packet, KEY))).toBe("too_large");
  });

  it("caps snappy output too: a block declaring 5 MiB is too_large before anything is allocated", () => {
    // varint(5 MiB) = 80 80 c0 02, then a 1-byte literal.
    const block = Buffer.from("8080c002" + "0041", "hex");
    const iv = Buffer.alloc(16, 2);
    const h = Buffer.from(
      `544e4255 00000000 020000000001 000c ${iv.toString("hex")} 00000001 ${(block.length + 16).toString(16).padStart(8, "0")}`.replaceAll(
        " ",
        "",
      ),
      "hex",
    );
    const c = createCipheriv("aes-128-gcm", KEY, iv, { authTagLength: 16 });
    c.setAAD(h);
    const packet = Buffer.concat([h, c.update(block), c.final(), c.getAuthTag()]);
    expect(outcome(() => decodeInformPacket(packet, KEY))).toBe("too_large");
  });
});
