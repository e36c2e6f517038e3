// noble and node:crypto give byte-identical results for every primitive on random inputs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../src/encoding";
import { verifyEd25519 } from "../src/ed25519";
import { noblePrimitives as n } from "../src/primitives/noble";
import { nodePrimitives as d } from "../src/primitives/node";
import { getPrimitives, setPrimitives } from "../src/primitives/index";
import { generateBoxKeyPair, generateIdentityKeyPair } from "../src/keys";
import { seal, unseal } from "../src/seal";
import { bytes, outcome } from "./arbitraries";

const same = (a: Uint8Array, b: Uint8Array): void => expect(toHex(a)).toBe(toHex(b));

describe("noble ≡ node on random inputs", () => {
  it("sha256, hmacSha256, hkdfSha256", () => {
    fc.assert(
      fc.property(
        bytes(0, 300),
        bytes(0, 100),
        bytes(0, 100),
        fc.integer({ min: 1, max: 255 * 32 }),
        (data, key, info, len) => {
          same(n.sha256(data), d.sha256(data));
          same(n.hmacSha256(key, data), d.hmacSha256(key, data));
          same(n.hkdfSha256(data, key, info, len), d.hkdfSha256(data, key, info, len));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("x25519 public keys and shared secrets (any 32-byte peer, including invalid ones)", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(32, 32), (sk, pk) => {
        same(n.x25519PublicKey(sk), d.x25519PublicKey(sk));
        same(n.x25519(sk, pk), d.x25519(sk, pk));
      }),
      { numRuns: 100 },
    );
  });

  it("ed25519 keys, signatures and verification, including of random garbage", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(0, 200), bytes(64, 64), bytes(32, 32), (seed, msg, junkSig, junkKey) => {
        const pub = n.ed25519PublicKey(seed);
        same(pub, d.ed25519PublicKey(seed));
        const sig = n.ed25519Sign(seed, msg);
        same(sig, d.ed25519Sign(seed, msg));
        expect(n.ed25519Verify(sig, msg, pub)).toBe(true);
        expect(d.ed25519Verify(sig, msg, pub)).toBe(true);
        expect(n.ed25519Verify(junkSig, msg, pub)).toBe(d.ed25519Verify(junkSig, msg, pub));
        expect(verifyEd25519(junkKey, msg, sig, n)).toBe(verifyEd25519(junkKey, msg, sig, d));
      }),
      { numRuns: 100 },
    );
  });

  it("AEADs seal identically and agree on tampered input", () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(24, 24),
        bytes(0, 300),
        bytes(0, 50),
        fc.nat(),
        (key, nonce24, pt, aad, flip) => {
          const nonce12 = nonce24.slice(0, 12);
          const pairs: [
            (typeof n)["aesGcmSeal"],
            (typeof n)["aesGcmOpen"],
            (typeof n)["aesGcmSeal"],
            (typeof n)["aesGcmOpen"],
            Uint8Array,
            Uint8Array,
          ][] = [
            [
              n.chacha20poly1305Seal,
              n.chacha20poly1305Open,
              d.chacha20poly1305Seal,
              d.chacha20poly1305Open,
              key,
              nonce12,
            ],
            [
              n.xchacha20poly1305Seal,
              n.xchacha20poly1305Open,
              d.xchacha20poly1305Seal,
              d.xchacha20poly1305Open,
              key,
              nonce24,
            ],
            [n.aesGcmSeal, n.aesGcmOpen, d.aesGcmSeal, d.aesGcmOpen, key, nonce12],
            [n.aesGcmSeal, n.aesGcmOpen, d.aesGcmSeal, d.aesGcmOpen, key.slice(0, 16), nonce12],
          ];
          for (const [ns, no, ds, dopen, k, iv] of pairs) {
            const a = ns(k, iv, pt, aad);
            same(a, ds(k, iv, pt, aad));
            same(no(k, iv, a, aad), pt);
            same(dopen(k, iv, a, aad), pt);
            const t = Uint8Array.from(a);
            const i = flip % t.length;
            t[i] = (t[i] ?? 0) ^ 1;
            expect(outcome(() => no(k, iv, t, aad))).toBe("error");
            expect(outcome(() => dopen(k, iv, t, aad))).toBe("error");
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a box sealed on one path opens on the other", () => {
    const previous = getPrimitives();
    try {
      const r = generateBoxKeyPair();
      const s = generateIdentityKeyPair();
      const msg = new TextEncoder().encode("cross-path");
      setPrimitives(n);
      const box = seal(msg, { recipients: [r.publicKey], signer: s.privateKey });
      setPrimitives(d);
      expect(unseal(box, { recipient: r, signer: s.publicKey })).toEqual(msg);
      const box2 = seal(msg, { recipients: [r.publicKey], sender: r });
      setPrimitives(n);
      expect(unseal(box2, { recipient: r, sender: r.publicKey })).toEqual(msg);
    } finally {
      setPrimitives(previous);
    }
  });
});
