// Branded key constructors, fingerprints, safety codes and box-key certificates.
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/encoding";
import { VerifyError } from "../src/errors";
import {
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  boxPublicKey,
  certifyBoxKey,
  fingerprint,
  generateBoxKeyPair,
  generateIdentityKeyPair,
  identityKeyPairFromPrivateKey,
  identityPrivateKey,
  identityPublicKey,
  safetyCode,
  verifyBoxKeyCertificate,
  x25519SharedSecret,
} from "../src/keys";
import { signStatement } from "../src/sign";
import { ED25519_RFC8032, X25519_RFC7748_6_1 } from "./vectors/rfc";

describe("key constructors", () => {
  it("derive the RFC public keys", () => {
    const v = ED25519_RFC8032[0];
    if (!v) throw new Error("vector missing");
    expect(toHex(identityKeyPairFromPrivateKey(identityPrivateKey(fromHex(v.secretKey))).publicKey)).toBe(v.publicKey);
    const x = X25519_RFC7748_6_1;
    expect(toHex(boxKeyPairFromPrivateKey(boxPrivateKey(fromHex(x.alicePrivate))).publicKey)).toBe(x.alicePublic);
  });

  it("check lengths and types, and copy their input", () => {
    for (const make of [identityPrivateKey, identityPublicKey, boxPrivateKey, boxPublicKey]) {
      expect(() => make(new Uint8Array(31))).toThrow(RangeError);
      expect(() => make(new Uint8Array(33))).toThrow(RangeError);
      expect(() => make("00" as never)).toThrow(TypeError);
    }
    const raw = generateBoxKeyPair().publicKey;
    const copy = boxPublicKey(raw);
    raw[0] = (raw[0] ?? 0) ^ 1;
    expect(copy[0]).not.toBe(raw[0]);
  });

  it("x25519SharedSecret agrees both ways and refuses low-order keys", () => {
    const a = generateBoxKeyPair();
    const b = generateBoxKeyPair();
    expect(x25519SharedSecret(a.privateKey, b.publicKey)).toEqual(x25519SharedSecret(b.privateKey, a.publicKey));
    expect(() => x25519SharedSecret(a.privateKey, boxPublicKey(new Uint8Array(32)))).toThrow(/low-order/);
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(() => x25519SharedSecret(a.privateKey, boxPublicKey(one))).toThrow(/low-order/);
  });
});

describe("fingerprint and safetyCode", () => {
  const a = generateIdentityKeyPair().publicKey;
  const b = generateIdentityKeyPair().publicKey;

  it("fingerprints are 32 bytes, distinct per key, stable", () => {
    expect(fingerprint(a).length).toBe(32);
    expect(fingerprint(a)).toEqual(fingerprint(a));
    expect(fingerprint(a)).not.toEqual(fingerprint(b));
  });

  it("safety codes are 8 groups of 5 digits; the pair code is symmetric", () => {
    expect(safetyCode(a)).toMatch(/^\d{5}( \d{5}){7}$/);
    expect(safetyCode(a, b)).toBe(safetyCode(b, a));
    expect(safetyCode(a, b)).not.toBe(safetyCode(a));
    expect(safetyCode(a)).not.toBe(safetyCode(b));
  });
});

describe("box-key certificates", () => {
  const id = generateIdentityKeyPair();
  const box = generateBoxKeyPair();

  it("certify then verify returns the box key", () => {
    const cert = certifyBoxKey(id.privateKey, box.publicKey, "acct_1");
    expect(verifyBoxKeyCertificate(cert, id.publicKey, "acct_1")).toEqual(box.publicKey);
  });

  it("another owner, another signer, or a swapped box key is refused", () => {
    const cert = certifyBoxKey(id.privateKey, box.publicKey, "acct_1");
    expect(() => verifyBoxKeyCertificate(cert, id.publicKey, "acct_2")).toThrow(VerifyError);
    expect(() => verifyBoxKeyCertificate(cert, generateIdentityKeyPair().publicKey, "acct_1")).toThrow(VerifyError);
    const body = { ...(cert.body as Record<string, string>), boxPublicKey: "A".repeat(43) };
    expect(() => verifyBoxKeyCertificate({ ...cert, body }, id.publicKey, "acct_1")).toThrow(VerifyError);
  });

  it("a statement of another domain signed by the same key is not a certificate", () => {
    const other = signStatement("veil/v1/grant", { ownerId: "acct_1", boxPublicKey: "x" }, id.privateKey);
    expect(() => verifyBoxKeyCertificate(other, id.publicKey, "acct_1")).toThrow(VerifyError);
  });
});
