// libsodium's ChaCha20-Poly1305 in front of the pure-JS primitives (runs in Node and in Chromium):
// the RFC and Wycheproof vectors, byte-identical output to @noble on random inputs, the size
// routing, and the process-wide switch.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/encoding";
import { getPrimitives, setPrimitives, useSodiumAead } from "../src/primitives/index";
import { noblePrimitives as n } from "../src/primitives/noble";
import { loadSodium, withSodiumAead } from "../src/primitives/sodium";
import type { Primitives } from "../src/primitives/types";
import { CHACHA20POLY1305_RFC8439, XCHACHA20POLY1305_DRAFT03 } from "./vectors/rfc";
import { bytes, outcome } from "./arbitraries";
import { wycheproofChaChaSuite } from "./suites/wycheproof";

const sodium = await loadSodium();
const s = withSodiumAead(n, sodium);

wycheproofChaChaSuite(s);

describe("libsodium ChaCha20-Poly1305 (noble+sodium)", () => {
  it("RFC 8439 §2.8.2 and draft-irtf-cfrg-xchacha-03 A.3.1", () => {
    for (const [v, seal, open] of [
      [CHACHA20POLY1305_RFC8439, s.chacha20poly1305Seal, s.chacha20poly1305Open],
      [XCHACHA20POLY1305_DRAFT03, s.xchacha20poly1305Seal, s.xchacha20poly1305Open],
    ] as const) {
      const sealed = seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad));
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(toHex(open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad)))).toBe(v.plaintext);
    }
  });

  it("seals exactly as @noble does and opens what it seals, on random inputs", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(24, 24), bytes(0, 600), bytes(0, 40), (key, nonce24, msg, aad) => {
        const nonce = nonce24.subarray(0, 12);
        const sealed = s.chacha20poly1305Seal(key, nonce, msg, aad);
        expect(toHex(sealed)).toBe(toHex(n.chacha20poly1305Seal(key, nonce, msg, aad)));
        expect(toHex(s.chacha20poly1305Open(key, nonce, sealed, aad))).toBe(toHex(msg));
        const xsealed = s.xchacha20poly1305Seal(key, nonce24, msg, aad);
        expect(toHex(xsealed)).toBe(toHex(n.xchacha20poly1305Seal(key, nonce24, msg, aad)));
        expect(toHex(s.xchacha20poly1305Open(key, nonce24, xsealed, aad))).toBe(toHex(msg));
      }),
      { numRuns: 200 },
    );
  });

  it("refuses what @noble refuses: any flipped bit, wrong sizes, a short ciphertext", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(12, 12), bytes(0, 100), bytes(0, 20), fc.nat(), (key, nonce, msg, aad, pick) => {
        const sealed = n.chacha20poly1305Seal(key, nonce, msg, aad);
        const bit = pick % (sealed.length * 8);
        const bad = sealed.slice();
        bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(outcome(() => s.chacha20poly1305Open(key, nonce, bad, aad))).toBe("error");
        expect(outcome(() => n.chacha20poly1305Open(key, nonce, bad, aad))).toBe("error");
      }),
      { numRuns: 200 },
    );
    const key = new Uint8Array(32);
    for (const [k, nonce, sealed] of [
      [new Uint8Array(31), new Uint8Array(12), new Uint8Array(16)],
      [key, new Uint8Array(11), new Uint8Array(16)],
      [key, new Uint8Array(24), new Uint8Array(16)],
      [key, new Uint8Array(12), new Uint8Array(15)],
    ] as const) {
      expect(outcome(() => s.chacha20poly1305Seal(k, nonce, sealed, new Uint8Array(0)))).toBe(
        outcome(() => n.chacha20poly1305Seal(k, nonce, sealed, new Uint8Array(0))),
      );
      expect(outcome(() => s.chacha20poly1305Open(k, nonce, sealed, new Uint8Array(0)))).toBe("error");
    }
    expect(outcome(() => s.xchacha20poly1305Seal(key, new Uint8Array(12), new Uint8Array(1), new Uint8Array(0)))).toBe(
      "error",
    );
  });

  it("hands messages longer than maxBytes to the base implementation, and nothing else", () => {
    const calls: string[] = [];
    const counted = (name: keyof Primitives) =>
      ((...args: never[]) => {
        calls.push(name);
        return (n[name] as (...a: never[]) => unknown)(...args);
      }) as never;
    const base: Primitives = {
      ...n,
      name: "counted",
      chacha20poly1305Seal: counted("chacha20poly1305Seal"),
      chacha20poly1305Open: counted("chacha20poly1305Open"),
      xchacha20poly1305Seal: counted("xchacha20poly1305Seal"),
      xchacha20poly1305Open: counted("xchacha20poly1305Open"),
    };
    const p = withSodiumAead(base, sodium, 64);
    expect(p.name).toBe("counted+sodium");
    const key = new Uint8Array(32).fill(1);
    for (const size of [0, 48, 64, 65, 1000]) {
      calls.length = 0;
      const msg = new Uint8Array(size).fill(2);
      const sealed = p.chacha20poly1305Seal(key, new Uint8Array(12), msg, new Uint8Array(3));
      const xsealed = p.xchacha20poly1305Seal(key, new Uint8Array(24), msg, new Uint8Array(3));
      expect(toHex(p.chacha20poly1305Open(key, new Uint8Array(12), sealed, new Uint8Array(3)))).toBe(toHex(msg));
      expect(toHex(p.xchacha20poly1305Open(key, new Uint8Array(24), xsealed, new Uint8Array(3)))).toBe(toHex(msg));
      // Sealing looks at the plaintext's length, opening at the sealed message's (16 bytes more).
      const expected = [
        ...(size > 64 ? ["chacha20poly1305Seal", "xchacha20poly1305Seal"] : []),
        ...(size + 16 > 64 ? ["chacha20poly1305Open", "xchacha20poly1305Open"] : []),
      ];
      expect(calls.sort(), `${size} bytes`).toEqual(expected.sort());
    }
  });
});

describe("useSodiumAead", () => {
  const before = getPrimitives();
  afterAll(() => setPrimitives(before));

  it("puts libsodium in front of the implementation in use, once", async () => {
    setPrimitives(n);
    await useSodiumAead();
    expect(getPrimitives().name).toBe("noble+sodium");
    await useSodiumAead();
    expect(getPrimitives().name).toBe("noble+sodium");
    const key = new Uint8Array(32).fill(9);
    const msg = new Uint8Array(130).fill(3);
    expect(toHex(getPrimitives().chacha20poly1305Seal(key, new Uint8Array(12), msg, new Uint8Array(9)))).toBe(
      toHex(n.chacha20poly1305Seal(key, new Uint8Array(12), msg, new Uint8Array(9))),
    );
  });
});
