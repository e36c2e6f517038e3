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
  KDF_CONTEXT_MAX_BYTES,
  derivePasswordKeys,
  hashAuthKey,
  kdfParams,
  kdfSalt,
  splitMasterKey,
  verifyAuthKey,
  type MasterKey,
} from "../src/kdf";
import { sha256 } from "@noble/hashes/sha2.js";
import { ARGON2ID_RFC9106 as V } from "./vectors/rfc";

const EMAIL = "alice@example.com";

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
    const wasm = await argon2idRaw({
      ...opts,
      memoryKiB: V.memoryKiB,
      iterations: V.iterations,
      parallelism: V.parallelism,
      hashLength: 32,
    });
    const noble = nobleArgon2id(opts.password, opts.salt, {
      t: V.iterations,
      m: V.memoryKiB,
      p: V.parallelism,
      key: opts.secret,
      dkLen: 32,
    });
    expect(toHex(wasm)).toBe(toHex(noble));
    // and without a secret, at the floor's lane count
    const wasm2 = await argon2idRaw({
      password: opts.password,
      salt: opts.salt,
      memoryKiB: 64,
      iterations: 3,
      parallelism: 1,
      hashLength: 32,
    });
    expect(toHex(wasm2)).toBe(toHex(nobleArgon2id(opts.password, opts.salt, { t: 3, m: 64, p: 1, dkLen: 32 })));
  });
});

describe("deriveMasterKey with the real default parameters", () => {
  it("is deterministic, salt-dependent, and splits into distinct auth and wrap keys", async () => {
    const salt = fromHex("000102030405060708090a0b0c0d0e0f");
    const params = kdfParams({ ...DEFAULT_KDF, salt });
    const a = await deriveMasterKey("correct horse battery staple", params, "password", EMAIL);
    const b = await deriveMasterKey("correct horse battery staple", params, "password", EMAIL);
    expect(a.length).toBe(32);
    expect(toHex(a)).toBe(toHex(b));
    const other = await deriveMasterKey(
      "correct horse battery staple",
      kdfParams({ ...DEFAULT_KDF, salt: new Uint8Array(16) }),
      "password",
      EMAIL,
    );
    expect(toHex(other)).not.toBe(toHex(a));
    const keys = splitMasterKey(a, "password");
    expect(toHex(keys.authKey)).not.toBe(toHex(keys.wrapKey));
    const tokenKeys = splitMasterKey(a, "instance-token");
    expect(toHex(tokenKeys.authKey)).not.toBe(toHex(keys.authKey));
    expect(toHex(tokenKeys.wrapKey)).not.toBe(toHex(keys.wrapKey));
    // NFC normalisation: "é" precomposed and decomposed derive the same key.
    const c = await deriveKeys("caf\u00e9", params, "password", EMAIL);
    const d = await deriveKeys("cafe\u0301", params, "password", EMAIL);
    expect(toHex(c.wrapKey)).toBe(toHex(d.wrapKey));
  });
});

describe("the Argon2id salt is bound to the user-supplied context (review finding 1)", () => {
  // A malicious console serves the SAME salt to everyone: one precomputed table must not fit all.
  const served = fromHex("000102030405060708090a0b0c0d0e0f");
  const params = kdfParams({ ...DEFAULT_KDF, salt: served });

  it("same password, same served salt, different e-mails: different AuthKeys and WrapKeys", async () => {
    const alice = await derivePasswordKeys("hunter2hunter2", params, "alice@example.com");
    const bob = await derivePasswordKeys("hunter2hunter2", params, "bob@example.com");
    expect(toHex(alice.authKey)).not.toBe(toHex(bob.authKey));
    expect(toHex(alice.wrapKey)).not.toBe(toHex(bob.wrapKey));
  });

  it("the salt is SHA-256(lp(label) ‖ lp(kind) ‖ lp(context) ‖ served salt), and Argon2id runs on it", async () => {
    const lp = (s: string): Uint8Array => {
      const bytes = new TextEncoder().encode(s);
      const out = new Uint8Array(4 + bytes.length);
      new DataView(out.buffer).setUint32(0, bytes.length, false);
      out.set(bytes, 4);
      return out;
    };
    const expected = sha256(new Uint8Array([...lp("veil/v1/kdf-salt"), ...lp("password"), ...lp(EMAIL), ...served]));
    expect(toHex(kdfSalt("password", EMAIL, served))).toBe(toHex(expected));
    // kind is bound too: the same context and served salt give another salt for another kind
    expect(toHex(kdfSalt("recovery-code", EMAIL, served))).not.toBe(toHex(expected));
    const master = await deriveMasterKey("pw", params, "password", EMAIL);
    const raw = await argon2idRaw({
      password: new TextEncoder().encode("pw"),
      salt: expected,
      ...DEFAULT_KDF,
      hashLength: 32,
    });
    expect(toHex(master)).toBe(toHex(raw));
  });

  it("contexts are validated: non-empty, ≤ 320 UTF-8 bytes, well-formed, NFC", () => {
    expect(() => kdfSalt("password", "", served)).toThrow(/context must not be empty/);
    expect(() => kdfSalt("password", "a".repeat(KDF_CONTEXT_MAX_BYTES + 1), served)).toThrow(/320/);
    expect(() => kdfSalt("password", "\u00e9".repeat(161), served)).toThrow(/320/); // 322 bytes
    expect(() => kdfSalt("password", "a".repeat(KDF_CONTEXT_MAX_BYTES), served)).not.toThrow();
    expect(() => kdfSalt("password", "cafe\u0301@example.com", served)).toThrow(/NFC/);
    expect(() => kdfSalt("password", "\ud800@example.com", served)).toThrow(/surrogate/);
    expect(() => kdfSalt("password", 42 as never, served)).toThrow(TypeError);
    expect(() => kdfSalt("pin" as never, EMAIL, served)).toThrow(/kind/);
    expect(() => kdfSalt("password", EMAIL, new Uint8Array(15))).toThrow(/servedSalt/);
  });
});

describe("HKDF split labels", () => {
  it("auth = HKDF(master, '', 'veil/v1/password/auth'), wrap = …/wrap", async () => {
    const { hkdf } = await import("@noble/hashes/hkdf.js");
    const { sha256 } = await import("@noble/hashes/sha2.js");
    const master = new Uint8Array(32).fill(7) as MasterKey;
    const keys = splitMasterKey(master, "recovery-code");
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(toHex(keys.authKey)).toBe(
      toHex(hkdf(sha256, master, new Uint8Array(0), enc("veil/v1/recovery-code/auth"), 32)),
    );
    expect(toHex(keys.wrapKey)).toBe(
      toHex(hkdf(sha256, master, new Uint8Array(0), enc("veil/v1/recovery-code/wrap"), 32)),
    );
  });

  it("hashAuthKey is domain-separated SHA-256 and verifyAuthKey compares it", () => {
    const keys = splitMasterKey(new Uint8Array(32).fill(1) as MasterKey, "password");
    const h = hashAuthKey(keys.authKey);
    expect(h.length).toBe(32);
    // SHA-256 over the length-prefixed label (u32be length, then the ASCII) and the key; not the
    // bare hash of the key, which other code could compute for another purpose.
    const label = new TextEncoder().encode("veil/v1/auth-key-hash");
    const prefixed = new Uint8Array([0, 0, label.length >> 8, label.length & 0xff, ...label, ...keys.authKey]);
    expect(toHex(h)).toBe(toHex(sha256(prefixed)));
    expect(toHex(h)).not.toBe(toHex(sha256(keys.authKey)));
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
      await expect(deriveMasterKey("pw", params as never, "password", EMAIL)).rejects.toThrow(message);
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
    await expect(deriveMasterKey("", params, "password", EMAIL)).rejects.toThrow(RangeError);
    await expect(deriveMasterKey(new Uint8Array(4097), params, "password", EMAIL)).rejects.toThrow(RangeError);
    await expect(deriveMasterKey(42 as never, params, "password", EMAIL)).rejects.toThrow(TypeError);
  });
});
