// Canonical JSON, signed statements and the single Ed25519 verification rule.
import { ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { concat, fromBase64Url, fromHex, toBase64Url, toHex } from "../src/encoding";
import { isAcceptablePoint, signEd25519, verifyEd25519 } from "../src/ed25519";
import { VerifyError } from "../src/errors";
import { generateIdentityKeyPair, identityPublicKey } from "../src/keys";
import { noblePrimitives } from "../src/primitives/noble";
import { canonicalJson, signStatement, statementBytes, verifyStatement } from "../src/sign";

describe("canonicalJson", () => {
  it("sorts keys by UTF-16 code units, no whitespace (RFC 8785 subset)", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], "\u00e9": 0, A: { z: -5, y: "" } })).toBe(
      '{"A":{"y":"","z":-5},"a":[true,null,"x"],"b":1,"\u00e9":0}',
    );
    expect(canonicalJson('\u2028\n"')).toBe(JSON.stringify('\u2028\n"'));
    expect(canonicalJson(Object.create(null) as object)).toBe("{}");
  });
  it("refuses values with more than one encoding or none", () => {
    for (const bad of [
      1.5,
      NaN,
      Infinity,
      -0,
      2 ** 53,
      undefined,
      1n,
      () => 0,
      Symbol("s"),
      new Date(0),
      new Map(),
      new Uint8Array(1),
      "\ud800",
    ]) {
      expect(() => canonicalJson(bad), typeof bad).toThrow();
    }
    expect(() => canonicalJson({ a: undefined })).toThrow(/body\.a/);
    expect(() => canonicalJson({ a: [1, 2.5] })).toThrow(/body\.a\[1\]/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
    let deep: unknown = 0;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/deeper/);
  });
  it("refuses sparse and non-plain arrays, which JSON would not round-trip (review finding 9)", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson({ a: [1, , 3] })).toThrow(/body\.a is a sparse array/);
    expect(() => canonicalJson(new Array(2))).toThrow(/sparse/);
    class Tagged extends Array<number> {}
    expect(() => canonicalJson(Tagged.from([1]))).toThrow(/plain array/);
    const extra = Object.assign([1, 2], { note: "x" });
    expect(() => canonicalJson(extra)).toThrow(/non-index/);
    const sym = Object.assign([1], { [Symbol("s")]: 1 });
    expect(() => canonicalJson(sym)).toThrow(/symbol/);
    expect(canonicalJson([1, [2, []]])).toBe("[1,[2,[]]]");
  });
});

describe("signStatement / verifyStatement", () => {
  const { privateKey, publicKey } = generateIdentityKeyPair();
  const body = { instanceId: "inst_1", role: "admin", grants: ["read", "write"], expires: 1767225600 };

  it("round-trips and returns the body", () => {
    const s = signStatement("veil/v1/grant", body, privateKey);
    expect(verifyStatement(s, "veil/v1/grant", publicKey)).toEqual(body);
    expect(fromBase64Url(s.signature).length).toBe(64);
  });

  it("returns a fresh copy parsed from the verified canonical text, never the caller's object (review finding 9)", () => {
    const s = signStatement("veil/v1/grant", body, privateKey);
    const held = { ...body, grants: [...body.grants] };
    const out = verifyStatement({ ...s, body: held }, "veil/v1/grant", publicKey);
    expect(out).toEqual(body);
    expect(out).not.toBe(held);
    expect((out as { grants: unknown }).grants).not.toBe(held.grants);
    // a getter that answers differently on a second read cannot smuggle another value past the check
    let reads = 0;
    const tricky = { ...body };
    Object.defineProperty(tricky, "role", { enumerable: true, get: () => (reads++ === 0 ? "admin" : "owner") });
    expect((verifyStatement({ ...s, body: tricky }, "veil/v1/grant", publicKey) as { role: string }).role).toBe(
      "admin",
    );
  });

  it("key order does not matter, content does", () => {
    const s = signStatement("veil/v1/grant", body, privateKey);
    const reordered = { expires: body.expires, grants: body.grants, role: body.role, instanceId: body.instanceId };
    expect(verifyStatement({ ...s, body: reordered }, "veil/v1/grant", publicKey)).toEqual(body);
    expect(() => verifyStatement({ ...s, body: { ...body, role: "viewer" } }, "veil/v1/grant", publicKey)).toThrow(
      VerifyError,
    );
  });

  it("domain separation: a signature for one domain is refused for another", () => {
    const s = signStatement("veil/v1/grant", body, privateKey);
    expect(() => verifyStatement(s, "veil/v1/instance-certificate", publicKey)).toThrow(VerifyError);
    expect(() =>
      verifyStatement({ ...s, domain: "veil/v1/instance-certificate" }, "veil/v1/instance-certificate", publicKey),
    ).toThrow(VerifyError);
  });

  it("another key, a bad signature encoding or a non-canonical body fails with the opaque VerifyError", () => {
    const s = signStatement("veil/v1/grant", body, privateKey);
    expect(() => verifyStatement(s, "veil/v1/grant", generateIdentityKeyPair().publicKey)).toThrow(VerifyError);
    expect(() => verifyStatement({ ...s, signature: s.signature + "A" }, "veil/v1/grant", publicKey)).toThrow(
      VerifyError,
    );
    expect(() => verifyStatement({ ...s, body: { x: 1.5 } }, "veil/v1/grant", publicKey)).toThrow(VerifyError);
    expect(() => verifyStatement(null as never, "veil/v1/grant", publicKey)).toThrow(VerifyError);
  });

  it("signed bytes are lp(label) ‖ lp(domain) ‖ lp(json)", () => {
    const bytes = statementBytes("veil/v1/x", { a: 1 });
    const lp = (s: string): Uint8Array => {
      const b = new TextEncoder().encode(s);
      return concat(Uint8Array.of(0, 0, 0, b.length), b);
    };
    expect(toHex(bytes)).toBe(toHex(concat(lp("veil/v1/signed-statement"), lp("veil/v1/x"), lp('{"a":1}'))));
  });

  it("rejects malformed domains with a labelled error", () => {
    expect(() => signStatement("Veil Grant", body, privateKey)).toThrow(/domain/);
    expect(() => verifyStatement(signStatement("veil/v1/grant", body, privateKey), "", publicKey)).toThrow(
      /expectedDomain/,
    );
  });
});

describe("the single Ed25519 rule", () => {
  const { privateKey, publicKey } = generateIdentityKeyPair();
  const msg = new TextEncoder().encode("m");
  const sig = signEd25519(privateKey, msg);
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const le = (n: bigint): Uint8Array => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const leToBig = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);

  it("accepts a good signature", () => expect(verifyEd25519(publicKey, msg, sig)).toBe(true));

  it("rejects S + L (malleability, RFC 8032 §5.1.7) by the S < L rule itself, before the primitive is asked (review finding 9)", () => {
    const s = leToBig(sig.slice(32));
    expect(s + L < 1n << 253n).toBe(true); // S < L < 2^253: S + L always fits in the 32-byte field
    const mauled = concat(sig.slice(0, 32), le(s + L));
    // A primitive that would accept anything: only rule 3 can refuse the mauled signature.
    let asked = 0;
    const permissive = { ...noblePrimitives, ed25519Verify: (): boolean => (asked++, true) };
    expect(verifyEd25519(publicKey, msg, mauled, permissive)).toBe(false);
    expect(asked).toBe(0);
    expect(verifyEd25519(publicKey, msg, sig, permissive)).toBe(true);
    expect(asked).toBe(1);
    // S = L exactly (the boundary) is refused as well; S = L − 1 reaches the primitive
    expect(verifyEd25519(publicKey, msg, concat(sig.slice(0, 32), le(L)), permissive)).toBe(false);
    expect(asked).toBe(1);
    expect(verifyEd25519(publicKey, msg, concat(sig.slice(0, 32), le(L - 1n)), permissive)).toBe(true);
    expect(asked).toBe(2);
    // and with the real primitive too
    expect(verifyEd25519(publicKey, msg, mauled)).toBe(false);
  });

  it("rejects every small-order public key and small-order R, and non-canonical encodings", () => {
    for (const h of ED25519_TORSION_SUBGROUP) {
      const point = fromHex(h);
      expect(isAcceptablePoint(point), h).toBe(false);
      expect(verifyEd25519(point, msg, sig)).toBe(false);
      expect(verifyEd25519(publicKey, msg, concat(point, sig.slice(32)))).toBe(false);
      expect(() => identityPublicKey(point)).toThrow(RangeError);
    }
    // y = p (non-canonical encoding of y = 0) and y = p + 1 (non-canonical y = 1)
    const p = (1n << 255n) - 19n;
    expect(isAcceptablePoint(le(p))).toBe(false);
    expect(isAcceptablePoint(le(p + 1n))).toBe(false);
    expect(isAcceptablePoint(le(p - 2n))).toBe(true); // canonical; on-curve check is the primitive's
    // x = 0 with the sign bit set (RFC 8032 §5.1.3 step 4)
    expect(isAcceptablePoint(fromHex("0100000000000000000000000000000000000000000000000000000000000080"))).toBe(false);
  });

  it("wrong-length signatures are false; wrong-length keys and non-bytes are caller errors", () => {
    expect(verifyEd25519(publicKey, msg, sig.slice(0, 63))).toBe(false);
    expect(() => verifyEd25519(publicKey.slice(0, 31), msg, sig)).toThrow(RangeError);
    expect(() => verifyEd25519(publicKey, "m" as never, sig)).toThrow(TypeError);
    expect(toBase64Url(sig).length).toBe(86);
  });
});
