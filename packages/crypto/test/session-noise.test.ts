// The Noise objects of src/session/noise.ts beyond the cacophony vectors: CipherState nonce
// layout, the reserved nonce, Rekey(), failure semantics, and HandshakeState misuse.
import { describe, expect, it } from "vitest";
import { getPrimitives } from "../src/primitives/index";
import { chachaPolyNonce } from "../src/session/cipher-state";
import { CipherState, HandshakeState, NOISE_MAX_NONCE, NoiseError } from "../src/session/noise";
import { keyPair, toHex, utf8 } from "./session-fixtures";

const p = getPrimitives();
const key = new Uint8Array(32).map((_, i) => i);
const empty = new Uint8Array(0);

function cipher(n = 0n): CipherState {
  const c = new CipherState(p);
  c.initializeKey(key);
  c.setNonce(n);
  return c;
}

describe("CipherState (Noise §5.1, ChaChaPoly §12.3)", () => {
  it("nonce is 4 zero bytes then the counter little-endian", () => {
    expect(toHex(chachaPolyNonce(0x0102030405060708n))).toBe("000000000807060504030201");
    expect(toHex(chachaPolyNonce(0n))).toBe("000000000000000000000000");
    expect(toHex(chachaPolyNonce(0x80000001fffffffen))).toBe("00000000feffffff01000080");
    expect(toHex(chachaPolyNonce(NOISE_MAX_NONCE))).toBe("00000000ffffffffffffffff");
    const ct = cipher(5n).encryptWithAd(utf8("ad"), utf8("hi"));
    expect(toHex(ct)).toBe(toHex(p.chacha20poly1305Seal(key, chachaPolyNonce(5n), utf8("hi"), utf8("ad"))));
  });

  it("counts across 2^32 exactly: each message's nonce is n, carried from the low 32 bits into the high", () => {
    for (const start of [0xfffffffen, 0x1fffffffen, 0xfffffffefffffffdn]) {
      const tx = cipher(start);
      for (let i = 0n; i < 3n; i++) {
        expect(tx.nonce).toBe(start + i);
        const ct = tx.encryptWithAd(empty, utf8("m"));
        expect(toHex(ct)).toBe(toHex(p.chacha20poly1305Seal(key, chachaPolyNonce(start + i), utf8("m"), empty)));
      }
      expect(tx.nonce).toBe(start + 3n);
      expect([tx.nonceHigh, tx.nonceLow]).toEqual([Number((start + 3n) >> 32n), Number((start + 3n) & 0xffffffffn)]);
    }
  });

  it("without a key, EncryptWithAd and DecryptWithAd are the identity", () => {
    const c = new CipherState(p);
    expect(c.hasKey()).toBe(false);
    expect(toHex(c.encryptWithAd(empty, utf8("x")))).toBe(toHex(utf8("x")));
  });

  it("n = 2^64-1 is reserved: the last message uses 2^64-2", () => {
    const tx = cipher(NOISE_MAX_NONCE - 1n);
    const rx = cipher(NOISE_MAX_NONCE - 1n);
    expect(toHex(rx.decryptWithAd(empty, tx.encryptWithAd(empty, utf8("last"))))).toBe(toHex(utf8("last")));
    expect(() => tx.encryptWithAd(empty, utf8("x"))).toThrow(expect.objectContaining({ code: "nonce_exhausted" }));
    expect(() => rx.decryptWithAd(empty, new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: "nonce_exhausted" }),
    );
  });

  it("a failed decryption does not increment n", () => {
    const tx = cipher();
    const rx = cipher();
    const ct = tx.encryptWithAd(empty, utf8("m"));
    const bad = ct.slice();
    bad[0] = (bad[0] ?? 0) ^ 1;
    expect(() => rx.decryptWithAd(empty, bad)).toThrow(NoiseError);
    expect(rx.nonce).toBe(0n);
    expect(toHex(rx.decryptWithAd(empty, ct))).toBe(toHex(utf8("m")));
    expect(rx.nonce).toBe(1n);
  });

  it("Rekey() is ENCRYPT(k, 2^64-1, empty, zeros)[0..32] and keeps n (§11.3)", () => {
    const c = cipher(7n);
    c.rekey();
    const k2 = p.chacha20poly1305Seal(key, chachaPolyNonce(NOISE_MAX_NONCE), new Uint8Array(32), empty).subarray(0, 32);
    expect(c.nonce).toBe(7n);
    expect(toHex(c.encryptWithAd(empty, utf8("r")))).toBe(
      toHex(p.chacha20poly1305Seal(k2, chachaPolyNonce(7n), utf8("r"), empty)),
    );
  });

  it("clone() is independent; wipe() makes every later call throw", () => {
    const c = cipher();
    const d = c.clone();
    d.encryptWithAd(empty, empty);
    expect(c.nonce).toBe(0n);
    c.wipe();
    expect(c.hasKey()).toBe(false);
    expect(() => c.encryptWithAd(empty, utf8("x"))).toThrow(NoiseError);
    expect(() => c.decryptWithAd(empty, utf8("x"))).toThrow(NoiseError);
    expect(() => c.rekey()).toThrow(NoiseError);
  });

  it("zeroes the key bytes it held: the old key at rekey(), the current one at wipe()", () => {
    // The AEAD is handed the state's own key array: keep a reference to each one it saw.
    const keysSeen: Uint8Array[] = [];
    const spy = {
      ...p,
      chacha20poly1305Seal: (k: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => {
        keysSeen.push(k);
        return p.chacha20poly1305Seal(k, nonce, plaintext, aad);
      },
    };
    const c = new CipherState(spy);
    c.initializeKey(key);
    c.encryptWithAd(empty, utf8("a"));
    const first = keysSeen.at(-1) as Uint8Array;
    expect(first).toEqual(key);
    c.rekey();
    // The rekey encryption read the first key; then it was zeroed in place.
    expect(first.every((b) => b === 0)).toBe(true);
    c.encryptWithAd(empty, utf8("b"));
    const second = keysSeen.at(-1) as Uint8Array;
    expect(second).not.toBe(first);
    expect(second.some((b) => b !== 0)).toBe(true);
    c.wipe();
    expect(second.every((b) => b === 0)).toBe(true);
  });

  it("validates its inputs", () => {
    const c = new CipherState(p);
    expect(() => c.initializeKey(new Uint8Array(31))).toThrow(/key/);
    expect(() => c.setNonce(-1n)).toThrow(RangeError);
    expect(() => c.setNonce(NOISE_MAX_NONCE + 1n)).toThrow(RangeError);
    expect(() => c.setNonce(1 as unknown as bigint)).toThrow(TypeError);
  });
});

describe("HandshakeState (Noise §5.3)", () => {
  const a = keyPair();
  const b = keyPair();

  it("IK round trip: the responder learns the initiator's static key from the handshake", () => {
    const i = new HandshakeState({
      pattern: "IK",
      initiator: true,
      staticSecretKey: a.secretKey,
      remoteStaticKey: b.publicKey,
      prologue: utf8("p"),
    });
    const r = new HandshakeState({
      pattern: "IK",
      initiator: false,
      staticSecretKey: b.secretKey,
      prologue: utf8("p"),
    });
    expect(r.remoteStaticKey).toBeNull();
    expect(toHex(r.readMessage(i.writeMessage(utf8("one"))))).toBe(toHex(utf8("one")));
    expect(toHex(r.remoteStaticKey ?? empty)).toBe(toHex(a.publicKey));
    expect(toHex(i.readMessage(r.writeMessage(utf8("two"))))).toBe(toHex(utf8("two")));
    expect(i.isComplete && r.isComplete).toBe(true);
    expect(toHex(i.getHandshakeHash())).toBe(toHex(r.getHandshakeHash()));
    const x = i.split();
    const y = r.split();
    expect(
      toHex(y.initiatorToResponder.decryptWithAd(empty, x.initiatorToResponder.encryptWithAd(empty, utf8("t")))),
    ).toBe(toHex(utf8("t")));
    expect(() => i.split()).toThrow(NoiseError);
  });

  it("enforces turn order and completeness", () => {
    const i = new HandshakeState({
      pattern: "KK",
      initiator: true,
      staticSecretKey: a.secretKey,
      remoteStaticKey: b.publicKey,
    });
    expect(i.isMyTurn).toBe(true);
    expect(() => i.readMessage(new Uint8Array(64))).toThrow(expect.objectContaining({ code: "state" }));
    expect(() => i.split()).toThrow(expect.objectContaining({ code: "state" }));
    i.writeMessage();
    expect(() => i.writeMessage()).toThrow(expect.objectContaining({ code: "state" }));
  });

  it("a failed read wipes the state: a later valid message is refused", () => {
    const i = new HandshakeState({
      pattern: "KK",
      initiator: true,
      staticSecretKey: a.secretKey,
      remoteStaticKey: b.publicKey,
    });
    const r = new HandshakeState({
      pattern: "KK",
      initiator: false,
      staticSecretKey: b.secretKey,
      remoteStaticKey: a.publicKey,
    });
    const m = i.writeMessage();
    const bad = m.slice();
    bad[40] = (bad[40] ?? 0) ^ 1;
    expect(() => r.readMessage(bad)).toThrow(expect.objectContaining({ code: "decrypt" }));
    expect(() => r.readMessage(m)).toThrow(expect.objectContaining({ code: "state" }));
  });

  it("checks pre-message keys against the pattern", () => {
    expect(() => new HandshakeState({ pattern: "KK", initiator: true, staticSecretKey: a.secretKey })).toThrow(
      /remoteStaticKey/,
    );
    expect(
      () =>
        new HandshakeState({
          pattern: "IK",
          initiator: false,
          staticSecretKey: b.secretKey,
          remoteStaticKey: a.publicKey,
        }),
    ).toThrow(/remoteStaticKey/);
    expect(() => new HandshakeState({ pattern: "KK", initiator: true, remoteStaticKey: b.publicKey })).toThrow(
      /staticSecretKey/,
    );
    expect(() => new HandshakeState({ pattern: "XX" as "KK", initiator: true, staticSecretKey: a.secretKey })).toThrow(
      /pattern/,
    );
    expect(
      () => new HandshakeState({ pattern: "__proto__" as "KK", initiator: true, staticSecretKey: a.secretKey }),
    ).toThrow(/pattern/);
    expect(
      () => new HandshakeState({ pattern: "KK", initiator: 1 as unknown as boolean, staticSecretKey: a.secretKey }),
    ).toThrow(/initiator/);
  });

  it("rejects oversized messages and payloads (65535 bytes, §3)", () => {
    const i = new HandshakeState({
      pattern: "KK",
      initiator: true,
      staticSecretKey: a.secretKey,
      remoteStaticKey: b.publicKey,
    });
    expect(() => i.writeMessage(new Uint8Array(65_535 - 48 + 1))).toThrow(RangeError);
    const r = new HandshakeState({
      pattern: "KK",
      initiator: false,
      staticSecretKey: b.secretKey,
      remoteStaticKey: a.publicKey,
    });
    expect(() => r.readMessage(new Uint8Array(65_536))).toThrow(expect.objectContaining({ code: "message_too_long" }));
  });
});
