// Argon2id (RFC 9106) and the HKDF split. Argon2id at 64 MiB costs ~0.4 s: few such tests.
import { argon2id as nobleArgon2id } from "@noble/hashes/argon2.js";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/encoding";
import {
  DEFAULT_KDF,
  KDF_CEILING,
  KDF_FLOOR,
  argon2idRaw,
  assertKdfParams,
  deriveKeys,
  deriveMasterKey,
  generateKdfParams,
  hashAuthKey,
  kdfParams,
  splitMasterKey,
  verifyAuthKey,
  type MasterKey,
} from "../src/kdf";
import { ARGON2ID_RFC9106 as V } from "./vectors/rfc";

describe("Argon2id known answers (RFC 9106 §5.3)", () => {
  it("the typed vector, with secret and associated data, via @noble/hashes (hash-wasm cannot take associated data)", () => {
    const tag = nobleArgon2id(fromHex(V.password), fromHex(V.salt), {
      t: V.iterations,
      m: V.memoryKiB,
      p: V.parallelism,
      key: fromHex(V.secret),
      personalization: fromHex(V.associatedData),
      dkLen: 32,
    });
    expect(toHex(tag)).toBe(V.tag);
  });

  it("hash-wasm (the derivation path) equals @noble/hashes with the same password, salt and secret (no associated data)", async () => {
    const opts = { password: fromHex(V.password), salt: fromHex(V.salt), secret: fromHex(V.secret) };
    const wasm = await argon2idRaw({ ...opts, memoryKiB: V.memoryKiB, iterations: V.iterations, parallelism: V.parallelism, hashLength: 32 });
    const noble = nobleArgon2id(opts.password, opts.salt, { t: V.iterations, m: V.memoryKiB, p: V.parallelism, key: opts.secret, dkLen: 32 });
    expect(toHex(wasm)).toBe(toHex(noble));
    // and without a secret, at the floor's lane count
    const wasm2 = await argon2idRaw({ password: opts.password, salt: opts.salt, memoryKiB: 64, iterations: 3, parallelism: 1, hashLength: 32 });
    expect(toHex(wasm2)).toBe(toHex(nobleArgon2id(opts.password, opts.salt, { t: 3, m: 64, p: 1, dkLen: 32 })));
  });
});

describe("deriveMasterKey with the real default parameters", () => {
  it("is deterministic, salt-dependent, and splits into distinct auth and wrap keys", async () => {
    const salt = fromHex("000102030405060708090a0b0c0d0e0f");
    const params = kdfParams({ ...DEFAULT_KDF, salt });
    const a = await deriveMasterKey("correct horse battery staple", params);
    const b = await deriveMasterKey("correct horse battery staple", params);
    expect(a.length).toBe(32);
    expect(toHex(a)).toBe(toHex(b));
    const other = await deriveMasterKey("correct horse battery staple", kdfParams({ ...DEFAULT_KDF, salt: new Uint8Array(16) }));
    expect(toHex(other)).not.toBe(toHex(a));
    const keys = splitMasterKey(a, "password");
    expect(toHex(keys.authKey)).not.toBe(toHex(keys.wrapKey));
    const tokenKeys = splitMasterKey(a, "instance-token");
    expect(toHex(tokenKeys.authKey)).not.toBe(toHex(keys.authKey));
    expect(toHex(tokenKeys.wrapKey)).not.toBe(toHex(keys.wrapKey));
    // NFC normalisation: "é" precomposed and decomposed derive the same key.
    const c = await deriveKeys("caf\u00e9", params, "password");
    const d = await deriveKeys("cafe\u0301", params, "password");
    expect(toHex(c.wrapKey)).toBe(toHex(d.wrapKey));
  });
});

describe("HKDF split labels", () => {
  it("auth = HKDF(master, '', 'veil/v1/password/auth'), wrap = …/wrap", async () => {
    const { hkdf } = await import("@noble/hashes/hkdf.js");
    const { sha256 } = await import("@noble/hashes/sha2.js");
    const master = new Uint8Array(32).fill(7) as MasterKey;
    const keys = splitMasterKey(master, "recovery-code");
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(toHex(keys.authKey)).toBe(toHex(hkdf(sha256, master, new Uint8Array(0), enc("veil/v1/recovery-code/auth"), 32)));
    expect(toHex(keys.wrapKey)).toBe(toHex(hkdf(sha256, master, new Uint8Array(0), enc("veil/v1/recovery-code/wrap"), 32)));
  });

  it("hashAuthKey is domain-separated SHA-256 and verifyAuthKey compares it", () => {
    const keys = splitMasterKey(new Uint8Array(32).fill(1) as MasterKey, "password");
    const h = hashAuthKey(keys.authKey);
    expect(h.length).toBe(32);
    expect(verifyAuthKey(keys.authKey, h)).toBe(true);
    expect(verifyAuthKey(keys.wrapKey, h)).toBe(false);
  });
});

describe("floor and ceiling are checked before any derivation", () => {
  const salt = new Uint8Array(16);
  const base = { algorithm: "argon2id", ...KDF_FLOOR, salt };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["memory below floor", { ...base, memoryKiB: KDF_FLOOR.memoryKiB - 1 }, /memoryKiB/],
    ["iterations below floor", { ...base, iterations: 2 }, /iterations/],
    ["parallelism zero", { ...base, parallelism: 0 }, /parallelism/],
    ["memory above ceiling", { ...base, memoryKiB: KDF_CEILING.memoryKiB + 1 }, /memoryKiB/],
    ["iterations above ceiling", { ...base, iterations: 11 }, /iterations/],
    ["parallelism above ceiling", { ...base, parallelism: 5 }, /parallelism/],
    ["fractional memory", { ...base, memoryKiB: 65536.5 }, /memoryKiB/],
    ["string iterations", { ...base, iterations: "3" }, /iterations/],
    ["short salt", { ...base, salt: new Uint8Array(15) }, /salt/],
    ["salt not bytes", { ...base, salt: "00".repeat(16) }, /salt/],
    ["other algorithm", { ...base, algorithm: "argon2i" }, /algorithm/],
  ];
  for (const [name, params, message] of cases) {
    it(`refuses ${name}`, async () => {
      expect(() => assertKdfParams(params)).toThrow(message);
      const started = Date.now();
      await expect(deriveMasterKey("pw", params as never)).rejects.toThrow(message);
      expect(Date.now() - started).toBeLessThan(100); // refused before Argon2id ran
    });
  }
  it("accepts the floor, the ceiling's bounds and fresh defaults", () => {
    expect(() => assertKdfParams(base)).not.toThrow();
    expect(() => kdfParams({ ...KDF_CEILING, salt })).not.toThrow();
    const fresh = generateKdfParams();
    expect(fresh.salt.length).toBe(16);
    expect(fresh.memoryKiB).toBe(65536);
    expect(Object.isFrozen(fresh)).toBe(true);
  });
  it("refuses empty and oversized secrets", async () => {
    const params = kdfParams({ ...DEFAULT_KDF, salt });
    await expect(deriveMasterKey("", params)).rejects.toThrow(RangeError);
    await expect(deriveMasterKey(new Uint8Array(4097), params)).rejects.toThrow(RangeError);
    await expect(deriveMasterKey(42 as never, params)).rejects.toThrow(TypeError);
  });
});
