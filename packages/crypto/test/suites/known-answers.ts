/** RFC known-answer tests, run against one primitive implementation. */
import { describe, expect, it } from "vitest";
import { concat, fromHex, toHex } from "../../src/encoding";
import { verifyEd25519 } from "../../src/ed25519";
import type { Primitives } from "../../src/primitives/types";
import {
  CHACHA20POLY1305_RFC8439,
  ED25519_RFC8032,
  HKDF_RFC5869,
  X25519_RFC7748_5_2,
  X25519_RFC7748_6_1,
  X25519_RFC7748_ITERATED,
  XCHACHA20POLY1305_DRAFT03,
} from "../vectors/rfc";

export function knownAnswerSuite(p: Primitives): void {
  describe(`RFC known answers (${p.name})`, () => {
    it("X25519: RFC 7748 §5.2 single multiplications", () => {
      for (const v of X25519_RFC7748_5_2) expect(toHex(p.x25519(fromHex(v.scalar), fromHex(v.u)))).toBe(v.out);
    });

    it("X25519: RFC 7748 §5.2 iterated (1 and 1000 iterations)", () => {
      let k = fromHex(X25519_RFC7748_ITERATED.start);
      let u = fromHex(X25519_RFC7748_ITERATED.start);
      for (let i = 1; i <= 1000; i++) {
        const next = p.x25519(k, u);
        u = k;
        k = next;
        if (i === 1) expect(toHex(k)).toBe(X25519_RFC7748_ITERATED.after1);
      }
      expect(toHex(k)).toBe(X25519_RFC7748_ITERATED.after1000);
    });

    it("X25519: RFC 7748 §6.1 Diffie-Hellman", () => {
      const v = X25519_RFC7748_6_1;
      expect(toHex(p.x25519PublicKey(fromHex(v.alicePrivate)))).toBe(v.alicePublic);
      expect(toHex(p.x25519PublicKey(fromHex(v.bobPrivate)))).toBe(v.bobPublic);
      expect(toHex(p.x25519(fromHex(v.alicePrivate), fromHex(v.bobPublic)))).toBe(v.shared);
      expect(toHex(p.x25519(fromHex(v.bobPrivate), fromHex(v.alicePublic)))).toBe(v.shared);
    });

    it("Ed25519: RFC 8032 §7.1 TEST 1–3 (keys, signatures, strict verification)", () => {
      for (const v of ED25519_RFC8032) {
        const sk = fromHex(v.secretKey);
        const msg = fromHex(v.message);
        expect(toHex(p.ed25519PublicKey(sk)), v.name).toBe(v.publicKey);
        expect(toHex(p.ed25519Sign(sk, msg)), v.name).toBe(v.signature);
        expect(verifyEd25519(fromHex(v.publicKey), msg, fromHex(v.signature), p), v.name).toBe(true);
        const other = concat(msg, Uint8Array.of(0));
        expect(verifyEd25519(fromHex(v.publicKey), other, fromHex(v.signature), p), v.name).toBe(false);
      }
    });

    it("HKDF-SHA256: RFC 5869 A.1–A.3 (PRK via HMAC, OKM via HKDF)", () => {
      for (const v of HKDF_RFC5869) {
        expect(toHex(p.hmacSha256(fromHex(v.salt), fromHex(v.ikm))), v.name).toBe(v.prk);
        expect(toHex(p.hkdfSha256(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length)), v.name).toBe(v.okm);
      }
    });

    it("ChaCha20-Poly1305: RFC 8439 §2.8.2", () => {
      const v = CHACHA20POLY1305_RFC8439;
      const sealed = p.chacha20poly1305Seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad));
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(toHex(p.chacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad)))).toBe(v.plaintext);
    });

    it("XChaCha20-Poly1305: draft-irtf-cfrg-xchacha-03 A.3.1", () => {
      const v = XCHACHA20POLY1305_DRAFT03;
      const sealed = p.xchacha20poly1305Seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad));
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      expect(toHex(p.xchacha20poly1305Open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad)))).toBe(
        v.plaintext,
      );
    });

    it("SHA-256: FIPS 180-4 'abc' and empty", () => {
      expect(toHex(p.sha256(new TextEncoder().encode("abc")))).toBe(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      );
      expect(toHex(p.sha256(new Uint8Array(0)))).toBe(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      );
    });
  });
}
