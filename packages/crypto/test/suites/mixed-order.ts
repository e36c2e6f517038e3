/**
 * Mixed-order Ed25519 keys and R values (the external review's construction, finding 8): the
 * one place where the cofactorless equation [S]B = R + [k]A (RFC 8032 §5.1.7 as written; what
 * OpenSSL, and so node:crypto, checks) and the cofactored one [8][S]B = [8]R + [8][k]A (what
 * @noble/curves' own `ed25519.verify` checks, ZIP-215) give different answers. ed25519.ts
 * promises one rule everywhere, so every primitive must agree with the cofactorless answer.
 *
 * A' = [a]B + T with T of order 8 passes the small-order check (A' has order 8·L), and
 * [k]A' = [k·a]B + [k]T, so an honestly computed signature S = r + k·a verifies cofactorless
 * exactly when 8 | k, and cofactored always. Likewise R' = [r]B + T never verifies
 * cofactorless and always cofactored.
 */
import { ed25519, ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { verifyEd25519 } from "../../src/ed25519";
import type { Primitives } from "../../src/primitives/types";

/** One crafted case and the cofactorless answer it must get. */
export interface MixedOrderCase {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** The cofactorless answer, computed from k mod 8 (not by running a verifier). */
  readonly cofactorless: boolean;
}

const Point = ed25519.Point;
const L = Point.CURVE().n;
const le = (b: Uint8Array): bigint => b.reduceRight((a, x) => (a << 8n) | BigInt(x), 0n);
function toLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** 64 mixed-order public keys (a few verify cofactorless) and 8 mixed-order R values (none do). */
export function mixedOrderCases(): MixedOrderCase[] {
  const T = Point.fromHex(ED25519_TORSION_SUBGROUP[1] ?? ""); // a point of order 8
  const cases: MixedOrderCase[] = [];
  for (let t = 0; t < 64; t++) {
    const a = (BigInt(t) * 1234567891234567n + 99n) % L;
    const r = (BigInt(t) * 777777777n + 5n) % L;
    const A = Point.BASE.multiply(a).add(T).toBytes();
    const R = Point.BASE.multiply(r).toBytes();
    const message = new TextEncoder().encode(`m${t}`);
    const k = le(sha512(new Uint8Array([...R, ...A, ...message]))) % L;
    const S = (r + k * a) % L;
    cases.push({ publicKey: A, message, signature: new Uint8Array([...R, ...toLE(S)]), cofactorless: k % 8n === 0n });
  }
  for (let t = 0; t < 8; t++) {
    const a = (BigInt(t) * 31337n + 7n) % L;
    const r = (BigInt(t) * 4242424242n + 11n) % L;
    const A = Point.BASE.multiply(a).toBytes();
    const R = Point.BASE.multiply(r).add(T).toBytes();
    const message = new TextEncoder().encode(`r${t}`);
    const k = le(sha512(new Uint8Array([...R, ...A, ...message]))) % L;
    const S = (r + k * a) % L;
    cases.push({ publicKey: A, message, signature: new Uint8Array([...R, ...toLE(S)]), cofactorless: false });
  }
  return cases;
}

export function mixedOrderSuite(p: Primitives): void {
  describe(`Ed25519 mixed-order keys: one (cofactorless) equation (${p.name})`, () => {
    const cases = mixedOrderCases();

    it("the cases discriminate: the cofactored equation accepts them all, the cofactorless one only some", () => {
      for (const c of cases) expect(ed25519.verify(c.signature, c.message, c.publicKey)).toBe(true); // ZIP-215, cofactored
      const accepted = cases.filter((c) => c.cofactorless).length;
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(cases.length - 8);
    });

    it("verifyEd25519 with this primitive gives the cofactorless answer on every case", () => {
      for (const [i, c] of cases.entries())
        expect(verifyEd25519(c.publicKey, c.message, c.signature, p), `case ${i}`).toBe(c.cofactorless);
    });
  });
}
