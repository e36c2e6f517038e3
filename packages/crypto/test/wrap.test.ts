// Key wrapping: round trips, binding to owner and purpose, every tampering fails opaquely.
import * as noble from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { ENVELOPE_MIN_LENGTH, parseEnvelope } from "../src/envelope";
import { DecryptError } from "../src/errors";
import type { WrapKey } from "../src/kdf";
import { randomBytes } from "../src/random";
import { WRAP_PURPOSES, unwrapKey, wrapKey, wrappedKey } from "../src/wrap";

const key = randomBytes(32) as WrapKey;
const secret = randomBytes(32);
const ctx = { ownerId: "acct_123", purpose: WRAP_PURPOSES.identityPrivateKey };

function opaque(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecryptError);
    expect((e as Error).message).toBe("decryption failed");
    return;
  }
  throw new Error("expected DecryptError");
}

describe("wrapKey / unwrapKey", () => {
  it("round-trips and produces the documented layout", () => {
    const w = wrapKey(key, secret, ctx);
    expect(w.length).toBe(2 + 24 + 32 + 16);
    expect(w[0]).toBe(1);
    expect(w[1]).toBe(1);
    expect(unwrapKey(key, w, ctx)).toEqual(secret);
    expect(parseEnvelope(w).nonce).toEqual(w.slice(2, 26));
    expect(wrappedKey(w)).toEqual(w);
  });

  it("uses a fresh nonce per wrap", () => {
    expect(wrapKey(key, secret, ctx)).not.toEqual(wrapKey(key, secret, ctx));
  });

  it("a key wrapped for another owner, purpose or wrap key fails with the one opaque error", () => {
    const w = wrapKey(key, secret, ctx);
    opaque(() => unwrapKey(key, w, { ...ctx, ownerId: "acct_124" }));
    opaque(() => unwrapKey(key, w, { ...ctx, purpose: WRAP_PURPOSES.boxPrivateKey }));
    opaque(() => unwrapKey(randomBytes(32) as WrapKey, w, ctx));
  });

  it("optional public-key binding (review finding 2): the wrapped private key cannot be paired with another public key", () => {
    const pub = randomBytes(32);
    const bound = { ...ctx, publicKey: pub };
    const w = wrapKey(key, secret, bound);
    expect(unwrapKey(key, w, bound)).toEqual(secret);
    opaque(() => unwrapKey(key, w, { ...ctx, publicKey: randomBytes(32) }));
    opaque(() => unwrapKey(key, w, ctx)); // binding dropped by the opener
    opaque(() => unwrapKey(key, wrapKey(key, secret, ctx), bound)); // binding added by the opener
    // the AAD without the binding is exactly the earlier one: keys wrapped before still open
    const { xchacha20poly1305 } = noble;
    const lp = (b: Uint8Array | string): Uint8Array => {
      const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
      const out = new Uint8Array(4 + bytes.length);
      new DataView(out.buffer).setUint32(0, bytes.length, false);
      out.set(bytes, 4);
      return out;
    };
    const legacyAad = new Uint8Array([...lp("veil/v1/wrapped-key"), 1, 1, ...lp(ctx.ownerId), ...lp(ctx.purpose)]);
    const nonce = randomBytes(24);
    const legacy = new Uint8Array([1, 1, ...nonce, ...xchacha20poly1305(key, nonce, legacyAad).encrypt(secret)]);
    expect(unwrapKey(key, legacy, ctx)).toEqual(secret);
    const boundAad = new Uint8Array([
      ...legacyAad,
      ...lp("public-key"),
      ...sha256(new Uint8Array([...lp("veil/v1/wrapped-key/public-key"), ...pub])),
    ]);
    expect(xchacha20poly1305(key, w.slice(2, 26), boundAad).decrypt(w.slice(26))).toEqual(secret);
    expect(() => wrapKey(key, secret, { ...ctx, publicKey: randomBytes(31) })).toThrow(/context.publicKey/);
  });

  it("every flipped bit of every byte fails with the same opaque error", () => {
    const w = wrapKey(key, secret, ctx);
    for (let i = 0; i < w.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const t = Uint8Array.from(w);
        t[i] = (t[i] ?? 0) ^ bit;
        opaque(() => unwrapKey(key, t, ctx));
      }
    }
  });

  it("truncated and extended envelopes fail opaquely", () => {
    const w = wrapKey(key, secret, ctx);
    for (let n = 0; n < w.length; n++) opaque(() => unwrapKey(key, w.slice(0, n), ctx));
    opaque(() => unwrapKey(key, new Uint8Array([...w, 0]), ctx));
    opaque(() => wrappedKey(new Uint8Array(ENVELOPE_MIN_LENGTH - 1)));
    opaque(() => wrappedKey(new Uint8Array(ENVELOPE_MIN_LENGTH)));
  });

  it("rejects bad inputs with labelled errors", () => {
    expect(() => wrapKey(new Uint8Array(31) as WrapKey, secret, ctx)).toThrow(/wrapKey must be 32 bytes/);
    expect(() => wrapKey(key, new Uint8Array(0), ctx)).toThrow(/key must be between 1 and 1024 bytes/);
    expect(() => wrapKey(key, "secret" as never, ctx)).toThrow(TypeError);
    expect(() => wrapKey(key, secret, { ...ctx, ownerId: "" })).toThrow(/ownerId/);
    expect(() => wrapKey(key, secret, { ...ctx, ownerId: "a b" })).toThrow(/ownerId/);
    expect(() => wrapKey(key, secret, { ...ctx, purpose: "Identity" })).toThrow(/purpose/);
    expect(() => wrapKey(key, secret, null as never)).toThrow(TypeError);
    expect(() => unwrapKey(key, [1, 2] as never, ctx)).toThrow(TypeError);
  });
});
