// Branded key constructors, fingerprints, safety codes and box-key certificates.
import { describe, expect, it } from "vitest";
import { fromHex, toBase64Url, toHex } from "../src/encoding";
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

describe("box-key certificates (owner kind, purpose and epoch bound: review finding 2)", () => {
  const id = generateIdentityKeyPair();
  const box = generateBoxKeyPair();
  const subject = { ownerKind: "account", ownerId: "acct_1", purpose: "session" } as const;

  it("certify then verify returns the box key and its epoch; the body is exactly the documented one", () => {
    const cert = certifyBoxKey(id.privateKey, box.publicKey, { ...subject, epoch: 3 });
    expect(cert.body).toEqual({
      v: 1,
      ownerKind: "account",
      ownerId: "acct_1",
      purpose: "session",
      boxPublicKey: toBase64Url(box.publicKey),
      epoch: 3,
    });
    const out = verifyBoxKeyCertificate(cert, id.publicKey, { ...subject, minEpoch: 3 });
    expect(out.boxPublicKey).toEqual(box.publicKey);
    expect(out.epoch).toBe(3);
    expect(verifyBoxKeyCertificate(cert, id.publicKey, { ...subject, minEpoch: 0 }).epoch).toBe(3);
  });

  it("rollback: a key certified before a rotation (epoch < minEpoch) is refused", () => {
    const old = certifyBoxKey(id.privateKey, generateBoxKeyPair().publicKey, { ...subject, epoch: 0 });
    const current = certifyBoxKey(id.privateKey, box.publicKey, { ...subject, epoch: 1 });
    expect(verifyBoxKeyCertificate(current, id.publicKey, { ...subject, minEpoch: 1 }).boxPublicKey).toEqual(
      box.publicKey,
    );
    expect(() => verifyBoxKeyCertificate(old, id.publicKey, { ...subject, minEpoch: 1 })).toThrow(VerifyError);
  });

  it("cross-purpose and cross-kind swaps are refused", () => {
    const vault = certifyBoxKey(id.privateKey, box.publicKey, {
      ownerKind: "instance",
      ownerId: "acct_1",
      purpose: "vault",
      epoch: 0,
    });
    expect(() =>
      verifyBoxKeyCertificate(vault, id.publicKey, {
        ownerKind: "instance",
        ownerId: "acct_1",
        purpose: "session",
        minEpoch: 0,
      }),
    ).toThrow(VerifyError);
    expect(() =>
      verifyBoxKeyCertificate(vault, id.publicKey, {
        ownerKind: "account",
        ownerId: "acct_1",
        purpose: "vault",
        minEpoch: 0,
      }),
    ).toThrow(VerifyError);
    expect(
      verifyBoxKeyCertificate(vault, id.publicKey, {
        ownerKind: "instance",
        ownerId: "acct_1",
        purpose: "vault",
        minEpoch: 0,
      }).epoch,
    ).toBe(0);
  });

  it("another owner, another signer, a swapped box key or epoch, or extra / missing fields are refused", () => {
    const cert = certifyBoxKey(id.privateKey, box.publicKey, { ...subject, epoch: 2 });
    const expect0 = { ...subject, minEpoch: 0 };
    expect(() => verifyBoxKeyCertificate(cert, id.publicKey, { ...expect0, ownerId: "acct_2" })).toThrow(VerifyError);
    expect(() => verifyBoxKeyCertificate(cert, generateIdentityKeyPair().publicKey, expect0)).toThrow(VerifyError);
    const body = cert.body as Record<string, string | number>;
    for (const changed of [
      { ...body, boxPublicKey: "A".repeat(43) },
      { ...body, epoch: 5 },
      { ...body, v: 2 },
      { ...body, extra: 1 },
    ]) {
      expect(() => verifyBoxKeyCertificate({ ...cert, body: changed }, id.publicKey, expect0)).toThrow(VerifyError);
    }
    // a correctly signed body of the old shape {ownerId, boxPublicKey} is no longer a certificate
    const legacy = signStatement(
      "veil/v1/box-key-certificate",
      { ownerId: "acct_1", boxPublicKey: toBase64Url(box.publicKey) },
      id.privateKey,
    );
    expect(() => verifyBoxKeyCertificate(legacy, id.publicKey, expect0)).toThrow(VerifyError);
    // a correctly signed body with a negative epoch is refused (fractions cannot be signed at all)
    const negative = signStatement("veil/v1/box-key-certificate", { ...body, epoch: -1 }, id.privateKey);
    expect(() => verifyBoxKeyCertificate(negative, id.publicKey, expect0)).toThrow(VerifyError);
  });

  it("a statement of another domain signed by the same key is not a certificate", () => {
    const other = signStatement(
      "veil/v1/grant",
      {
        v: 1,
        ownerKind: "account",
        ownerId: "acct_1",
        purpose: "session",
        boxPublicKey: toBase64Url(box.publicKey),
        epoch: 0,
      },
      id.privateKey,
    );
    expect(() => verifyBoxKeyCertificate(other, id.publicKey, { ...subject, minEpoch: 0 })).toThrow(VerifyError);
  });
});
