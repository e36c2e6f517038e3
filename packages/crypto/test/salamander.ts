/**
 * An "invisible salamander" for XChaCha20-Poly1305 (the external review's construction, finding
 * 3): one ciphertext ‖ tag that authenticates under two different keys, so Poly1305 alone does
 * not stop a sender from giving two recipients two different plaintexts. Used by seal.test.ts
 * to show that sealed boxes stop it by their key commitment and nothing else.
 *
 * Poly1305 (RFC 8439 §2.5): tag = (Σ m_i · r^(q−i) mod p + s) mod 2^128 over the 16-byte blocks
 * m_i (each + 2^128) of aad ‖ pad ‖ ct ‖ pad ‖ le64(len aad) ‖ le64(len ct), with (r, s) from the
 * first ChaCha20 block under the key. Leaving one ciphertext block free, the two tags are affine
 * in its value x, so x solving tag₁ = tag₂ (mod 2^128) is found by one inversion mod p; it must
 * fit in 128 bits (about one chance in four per candidate), else retry with other random blocks.
 */
import { xchacha20 } from "@noble/ciphers/chacha.js";
import { randomBytes } from "../src/random";

const P = (1n << 130n) - 5n;
const M128 = 1n << 128n;
const CT_BLOCKS = 4;
const FREE = 3;

const le = (b: Uint8Array): bigint => b.reduceRight((a, x) => (a << 8n) | BigInt(x), 0n);
function toLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
const mod = (a: bigint): bigint => ((a % P) + P) % P;
function pow(base: bigint, e: bigint): bigint {
  let r = 1n;
  let b = mod(base);
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}
const inv = (a: bigint): bigint => pow(a, P - 2n);
const pad = (n: number): number => (16 - (n % 16)) % 16;

function polyKey(key: Uint8Array, nonce: Uint8Array): { r: bigint; s: bigint } {
  const block = xchacha20(key, nonce, new Uint8Array(32), undefined, 0);
  return { r: le(block.slice(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn, s: le(block.slice(16, 32)) };
}

function blocks(aad: Uint8Array, ct: Uint8Array): bigint[] {
  const data = new Uint8Array([
    ...aad,
    ...new Uint8Array(pad(aad.length)),
    ...ct,
    ...new Uint8Array(pad(ct.length)),
    ...toLE(BigInt(aad.length), 8),
    ...toLE(BigInt(ct.length), 8),
  ]);
  const out: bigint[] = [];
  for (let i = 0; i < data.length; i += 16) out.push(le(data.slice(i, i + 16)) + M128);
  return out;
}

const accumulate = (bl: bigint[], r: bigint): bigint => bl.reduce((a, m) => ((a + m) * r) % P, 0n);

/**
 * A ciphertext ‖ tag that XChaCha20-Poly1305 opens under both `k1` and `k2` (same nonce and
 * aad), to different plaintexts. The first block decrypts under `k1` to `first` (16 bytes).
 */
export function salamander(
  k1: Uint8Array,
  k2: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  first: Uint8Array,
): Uint8Array {
  if (first.length !== 16) throw new RangeError("first must be 16 bytes");
  const pk1 = polyKey(k1, nonce);
  const pk2 = polyKey(k2, nonce);
  const keystream = xchacha20(k1, nonce, new Uint8Array(16), undefined, 1);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const ct = randomBytes(16 * CT_BLOCKS);
    ct.set(
      first.map((b, i) => b ^ (keystream[i] ?? 0)),
      0,
    );
    ct.fill(0, 16 * FREE, 16 * FREE + 16);
    const bl = blocks(aad, ct);
    const index = Math.ceil(aad.length / 16) + FREE;
    const q = bl.length;
    const a1 = accumulate(bl, pk1.r);
    const a2 = accumulate(bl, pk2.r);
    const e1 = pow(pk1.r, BigInt(q - index));
    const e2 = pow(pk2.r, BigInt(q - index));
    const delta = (((pk2.s - pk1.s) % M128) + M128) % M128;
    for (let t = -4n; t <= 3n; t++) {
      const x = mod((delta + t * M128 - (a1 - a2)) * inv(e1 - e2));
      if (x >= M128) continue;
      const acc1 = mod(a1 + x * e1);
      const acc2 = mod(a2 + x * e2);
      if ((acc1 + pk1.s) % M128 !== (acc2 + pk2.s) % M128) continue;
      ct.set(toLE(x, 16), 16 * FREE);
      const tag = toLE((accumulate(blocks(aad, ct), pk1.r) + pk1.s) % M128, 16);
      return new Uint8Array([...ct, ...tag]);
    }
  }
  throw new Error("no collision found (probability ≈ 2^-300)");
}
