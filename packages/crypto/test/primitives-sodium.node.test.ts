// libsodium's ChaCha20-Poly1305 in front of node:crypto, as the companion runs it (Node only):
// Wycheproof, byte-identical output on both sides of SODIUM_MAX_BYTES_IN_NODE, and the switch.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "../src/encoding";
import { SODIUM_MAX_BYTES_IN_NODE, useFastestPrimitives } from "../src/node";
import { getPrimitives, setPrimitives } from "../src/primitives/index";
import { nodePrimitives as d } from "../src/primitives/node";
import { loadSodium, withSodiumAead } from "../src/primitives/sodium";
import { bytes } from "./arbitraries";
import { wycheproofChaChaSuite } from "./suites/wycheproof";

const s = withSodiumAead(d, await loadSodium(), SODIUM_MAX_BYTES_IN_NODE);

wycheproofChaChaSuite(s);

describe("node+sodium", () => {
  it("seals exactly as node:crypto does, below and above the hand-over size", () => {
    const sizes = fc.integer({ min: SODIUM_MAX_BYTES_IN_NODE - 40, max: SODIUM_MAX_BYTES_IN_NODE + 40 });
    fc.assert(
      fc.property(bytes(32, 32), bytes(12, 12), sizes, (key, nonce, size) => {
        const msg = new Uint8Array(size).fill(size & 0xff);
        const sealed = s.chacha20poly1305Seal(key, nonce, msg, nonce);
        expect(toHex(sealed)).toBe(toHex(d.chacha20poly1305Seal(key, nonce, msg, nonce)));
        expect(toHex(s.chacha20poly1305Open(key, nonce, sealed, nonce))).toBe(toHex(msg));
      }),
      { numRuns: 100 },
    );
  });
});

describe("useFastestPrimitives", () => {
  const before = getPrimitives();
  afterAll(() => setPrimitives(before));

  it("selects node:crypto with libsodium in front", async () => {
    await useFastestPrimitives();
    expect(getPrimitives().name).toBe("node+sodium");
  });
});
