// HPKE against RFC 9180 A.2 on the pure-JS primitives, plus behaviour tests.
import { describe, expect, it } from "vitest";
import { DecryptError } from "../src/errors";
import { hpkeOpen, hpkeReceiveExport, hpkeSeal, hpkeSendExport, setupHpkeReceiver, setupHpkeSender } from "../src/hpke";
import { generateBoxKeyPair, type BoxPublicKey } from "../src/keys";
import { getPrimitives, setPrimitives } from "../src/primitives/index";
import { noblePrimitives } from "../src/primitives/noble";
import { hpkeSuite } from "./suites/hpke";

hpkeSuite(noblePrimitives);

describe("HPKE single-shot API", () => {
  const r = generateBoxKeyPair();
  const s = generateBoxKeyPair();
  const info = new TextEncoder().encode("veil test");
  const msg = new TextEncoder().encode("hello");

  it("base mode round trip; wrong info or aad fails opaquely", () => {
    const { enc, ciphertext } = hpkeSeal({ recipientPublicKey: r.publicKey, info }, msg, info);
    expect(hpkeOpen({ enc, recipientPrivateKey: r.privateKey, info }, ciphertext, info)).toEqual(msg);
    expect(() => hpkeOpen({ enc, recipientPrivateKey: r.privateKey }, ciphertext, info)).toThrow(DecryptError);
    expect(() => hpkeOpen({ enc, recipientPrivateKey: r.privateKey, info }, ciphertext)).toThrow(DecryptError);
  });

  it("auth mode authenticates the sender: another sender key, or base mode, fails", () => {
    const { enc, ciphertext } = hpkeSeal({ recipientPublicKey: r.publicKey, sender: s }, msg);
    expect(hpkeOpen({ enc, recipientPrivateKey: r.privateKey, senderPublicKey: s.publicKey }, ciphertext)).toEqual(msg);
    expect(() =>
      hpkeOpen({ enc, recipientPrivateKey: r.privateKey, senderPublicKey: generateBoxKeyPair().publicKey }, ciphertext),
    ).toThrow(DecryptError);
    expect(() => hpkeOpen({ enc, recipientPrivateKey: r.privateKey }, ciphertext)).toThrow(DecryptError);
  });

  it("a destroyed context refuses every use instead of sealing under an all-zero key (review finding 5)", () => {
    const { enc, context } = setupHpkeSender({ recipientPublicKey: r.publicKey, info });
    const receiver = setupHpkeReceiver({ enc, recipientPrivateKey: r.privateKey, info });
    expect(receiver.open(context.seal(msg))).toEqual(msg);
    context.destroy();
    receiver.destroy();
    expect(() => context.seal(msg)).toThrow(/destroyed/);
    expect(() => context.export(new Uint8Array(0), 32)).toThrow(/destroyed/);
    expect(() => receiver.open(new Uint8Array(32))).toThrow(/destroyed/);
    expect(() => receiver.export(new Uint8Array(0), 32)).toThrow(/destroyed/);
    expect(() => context.destroy()).not.toThrow(); // idempotent
  });

  it("exporter agrees on both sides", () => {
    const ctx = new Uint8Array([1, 2, 3]);
    const { enc, secret } = hpkeSendExport({ recipientPublicKey: r.publicKey }, ctx, 48);
    expect(hpkeReceiveExport({ enc, recipientPrivateKey: r.privateKey }, ctx, 48)).toEqual(secret);
  });

  it("low-order keys: refused when sealing (RangeError), opaque when opening, before any AEAD runs", () => {
    const zero = new Uint8Array(32) as BoxPublicKey;
    expect(() => hpkeSeal({ recipientPublicKey: zero }, msg)).toThrow(RangeError);
    // The AEAD would refuse the ciphertext anyway; counting its calls shows the key was refused first.
    const inUse = getPrimitives();
    let opens = 0;
    setPrimitives({
      ...inUse,
      chacha20poly1305Open: (...args: Parameters<typeof inUse.chacha20poly1305Open>) => {
        opens += 1;
        return inUse.chacha20poly1305Open(...args);
      },
    });
    try {
      expect(() => hpkeOpen({ enc: zero, recipientPrivateKey: r.privateKey }, new Uint8Array(32))).toThrow(
        DecryptError,
      );
      expect(opens).toBe(0);
      // The control: a well-formed but wrong sealed message does reach the AEAD.
      const sealed = hpkeSeal({ recipientPublicKey: r.publicKey }, msg);
      sealed.ciphertext[0] = (sealed.ciphertext[0] ?? 0) ^ 1;
      expect(() => hpkeOpen({ enc: sealed.enc, recipientPrivateKey: r.privateKey }, sealed.ciphertext)).toThrow(
        DecryptError,
      );
      expect(opens).toBe(1);
    } finally {
      setPrimitives(inUse);
    }
  });

  it("psk inputs must come together and be long enough (RFC 9180 §5.1.1, §9.5)", () => {
    expect(() => hpkeSeal({ recipientPublicKey: r.publicKey, psk: new Uint8Array(32) }, msg)).toThrow(TypeError);
    expect(() =>
      hpkeSeal({ recipientPublicKey: r.publicKey, psk: new Uint8Array(16), pskId: new Uint8Array(1) }, msg),
    ).toThrow(RangeError);
  });
});
