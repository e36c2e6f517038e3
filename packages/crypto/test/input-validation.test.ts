// Every public entry refuses wrong types and sizes with a labelled TypeError/RangeError that
// names the field — before doing any work.
import { describe, expect, it } from "vitest";
import * as api from "../src/index";

const b = (n: number): Uint8Array => new Uint8Array(n);
const box = api.generateBoxKeyPair();
const id = api.generateIdentityKeyPair();
const wk = b(32) as api.WrapKey;
const ctx = { ownerId: "acct_1", purpose: "identity-private-key" };

type Case = [name: string, call: () => unknown, error: typeof TypeError | typeof RangeError, field: RegExp];

const cases: Case[] = [
  ["toHex(non-bytes)", () => api.toHex("ab" as never), TypeError, /bytes/],
  ["fromHex(odd)", () => api.fromHex("abc"), RangeError, /hex/],
  ["fromBase64Url(number)", () => api.fromBase64Url(1 as never), TypeError, /base64url/],
  ["utf8(number)", () => api.utf8(1 as never), TypeError, /text/],
  ["u32be(2^32)", () => api.u32be(2 ** 32), RangeError, /value/],
  ["lengthPrefixed(number)", () => api.lengthPrefixed(1 as never), TypeError, /field/],
  ["randomBytes(2^21)", () => api.randomBytes(2 ** 21), RangeError, /length/],
  ["constantTimeEqual(string)", () => api.constantTimeEqual("a" as never, b(1)), TypeError, /\ba\b/],
  ["kdfParams(null)", () => api.kdfParams(null as never), TypeError, /kdf params/],
  ["kdfLabel(bad kind)", () => api.kdfLabel("pin" as never, "auth"), RangeError, /kind/],
  ["splitMasterKey(31 bytes)", () => api.splitMasterKey(b(31) as api.MasterKey, "password"), RangeError, /master/],
  ["splitMasterKey(bad kind)", () => api.splitMasterKey(b(32) as api.MasterKey, "pin" as never), RangeError, /kind/],
  ["hashAuthKey(16 bytes)", () => api.hashAuthKey(b(16) as api.AuthKey), RangeError, /authKey/],
  ["verifyAuthKey(stored 31)", () => api.verifyAuthKey(b(32), b(31)), RangeError, /stored/],
  ["authKey(string)", () => api.authKey("x" as never), TypeError, /authKey/],
  ["identityPrivateKey(64)", () => api.identityPrivateKey(b(64)), RangeError, /identityPrivateKey/],
  ["identityPublicKey(zero point)", () => api.identityPublicKey(b(32)), RangeError, /identityPublicKey/],
  ["boxPublicKey(array)", () => api.boxPublicKey([1, 2] as never), TypeError, /boxPublicKey/],
  [
    "x25519SharedSecret(short)",
    () => api.x25519SharedSecret(box.privateKey, b(31) as api.BoxPublicKey),
    RangeError,
    /publicKey/,
  ],
  ["fingerprint(short)", () => api.fingerprint(b(31) as api.IdentityPublicKey), RangeError, /publicKey/],
  [
    "safetyCode(peer short)",
    () => api.safetyCode(id.publicKey, b(1) as api.IdentityPublicKey),
    RangeError,
    /publicKey/,
  ],
  [
    "certifyBoxKey(bad owner)",
    () =>
      api.certifyBoxKey(id.privateKey, box.publicKey, {
        ownerKind: "account",
        ownerId: "a b",
        purpose: "session",
        epoch: 0,
      }),
    RangeError,
    /ownerId/,
  ],
  [
    "certifyBoxKey(bad kind)",
    () =>
      api.certifyBoxKey(id.privateKey, box.publicKey, {
        ownerKind: "user" as never,
        ownerId: "a",
        purpose: "session",
        epoch: 0,
      }),
    RangeError,
    /ownerKind/,
  ],
  [
    "certifyBoxKey(bad purpose)",
    () =>
      api.certifyBoxKey(id.privateKey, box.publicKey, {
        ownerKind: "account",
        ownerId: "a",
        purpose: "sign" as never,
        epoch: 0,
      }),
    RangeError,
    /purpose/,
  ],
  [
    "certifyBoxKey(negative epoch)",
    () =>
      api.certifyBoxKey(id.privateKey, box.publicKey, {
        ownerKind: "account",
        ownerId: "a",
        purpose: "box",
        epoch: -1,
      }),
    RangeError,
    /epoch/,
  ],
  [
    "certifyBoxKey(fractional epoch)",
    () =>
      api.certifyBoxKey(id.privateKey, box.publicKey, {
        ownerKind: "account",
        ownerId: "a",
        purpose: "box",
        epoch: 1.5,
      }),
    RangeError,
    /epoch/,
  ],
  [
    "certifyBoxKey(no options)",
    () => api.certifyBoxKey(id.privateKey, box.publicKey, "acct" as never),
    TypeError,
    /options/,
  ],
  [
    "verifyBoxKeyCertificate(bad owner)",
    () =>
      api.verifyBoxKeyCertificate({ domain: "x", body: null, signature: "" }, id.publicKey, {
        ownerKind: "account",
        ownerId: "",
        purpose: "session",
        minEpoch: 0,
      }),
    RangeError,
    /ownerId/,
  ],
  [
    "verifyBoxKeyCertificate(bad minEpoch)",
    () =>
      api.verifyBoxKeyCertificate({ domain: "x", body: null, signature: "" }, id.publicKey, {
        ownerKind: "account",
        ownerId: "a",
        purpose: "session",
        minEpoch: Number.MAX_SAFE_INTEGER + 1,
      }),
    RangeError,
    /minEpoch/,
  ],
  ["signEd25519(short seed)", () => api.signEd25519(b(31), b(0)), RangeError, /seed/],
  ["verifyEd25519(message string)", () => api.verifyEd25519(id.publicKey, "m" as never, b(64)), TypeError, /message/],
  ["isAcceptablePoint(string)", () => api.isAcceptablePoint("x" as never), TypeError, /encoded/],
  ["canonicalJson(float)", () => api.canonicalJson({ a: 0.5 }), RangeError, /body\.a/],
  ["signStatement(bad domain)", () => api.signStatement("", {}, id.privateKey), RangeError, /domain/],
  [
    "verifyStatement(bad key)",
    () => api.verifyStatement({ domain: "d", body: null, signature: "" }, "d", "k" as never),
    TypeError,
    /publicKey/,
  ],
  ["wrapKey(short wrap key)", () => api.wrapKey(b(16) as api.WrapKey, b(32), ctx), RangeError, /wrapKey/],
  ["wrapKey(too long key)", () => api.wrapKey(wk, b(1025), ctx), RangeError, /key/],
  ["wrapKey(bad purpose)", () => api.wrapKey(wk, b(32), { ...ctx, purpose: "" }), RangeError, /purpose/],
  ["unwrapKey(non-bytes)", () => api.unwrapKey(wk, "x" as never, ctx), TypeError, /wrapped/],
  ["encodeEnvelope(short nonce)", () => api.encodeEnvelope(b(12), b(16)), RangeError, /nonce/],
  ["parseEnvelope(string)", () => api.parseEnvelope("x" as never), TypeError, /envelope/],
  ["deriveHpkeKeyPair(short ikm)", () => api.deriveHpkeKeyPair(b(16)), RangeError, /ikm/],
  [
    "setupHpkeSender(short key)",
    () => api.setupHpkeSender({ recipientPublicKey: b(31) as api.BoxPublicKey }),
    RangeError,
    /recipientPublicKey/,
  ],
  [
    "setupHpkeSender(null sender)",
    () => api.setupHpkeSender({ recipientPublicKey: box.publicKey, sender: null as never }),
    TypeError,
    /sender/,
  ],
  [
    "setupHpkeSender(info string)",
    () => api.setupHpkeSender({ recipientPublicKey: box.publicKey, info: "i" as never }),
    TypeError,
    /info/,
  ],
  [
    "setupHpkeReceiver(enc short)",
    () => api.setupHpkeReceiver({ enc: b(31), recipientPrivateKey: box.privateKey }),
    RangeError,
    /enc/,
  ],
  [
    "hpkeOpen(ciphertext string)",
    () => api.hpkeOpen({ enc: box.publicKey, recipientPrivateKey: box.privateKey }, "c" as never),
    TypeError,
    /ciphertext/,
  ],
  [
    "context.export(length 0)",
    () => api.setupHpkeSender({ recipientPublicKey: box.publicKey }).context.export(b(0), 0),
    RangeError,
    /length/,
  ],
  [
    "seal(1025 recipients)",
    () => api.seal(b(1), { recipients: Array.from({ length: 1025 }, () => box.publicKey) }),
    RangeError,
    /recipients/,
  ],
  ["seal(aad too long)", () => api.seal(b(1), { recipients: [box.publicKey], aad: b(65537) }), RangeError, /aad/],
  [
    "seal(signer short)",
    () => api.seal(b(1), { recipients: [box.publicKey], signer: b(31) as api.IdentityPrivateKey }),
    RangeError,
    /signer/,
  ],
  ["unseal(recipient missing)", () => api.unseal(b(200), { recipient: undefined as never }), TypeError, /recipient/],
  [
    "unseal(sender short)",
    () => api.unseal(b(200), { recipient: box, sender: b(1) as api.BoxPublicKey }),
    RangeError,
    /sender/,
  ],
  ["setPrimitives(partial)", () => api.setPrimitives({ name: "x" } as never), TypeError, /primitives\./],
];

describe("input validation of every public entry", () => {
  for (const [name, call, type, field] of cases) {
    it(name, () => {
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(type);
      expect((thrown as Error).message).toMatch(field);
    });
  }

  it("async entries reject the same way", async () => {
    const params = api.generateKdfParams();
    await expect(api.deriveMasterKey(b(0), params, "password", "a@example.com")).rejects.toThrow(/secret/);
    await expect(api.derivePasswordKeys("pw", { ...params, memoryKiB: 1024 }, "a@example.com")).rejects.toThrow(
      /memoryKiB/,
    );
    await expect(api.deriveKeys("pw", params, "pin" as never, "a@example.com")).rejects.toThrow(/kind/);
    await expect(api.derivePasswordKeys("pw", params, "")).rejects.toThrow(/context/);
    await expect(api.derivePasswordKeys("pw", params, undefined as never)).rejects.toThrow(/context/);
  });
});
