/**
 * Wycheproof (C2SP/wycheproof testvectors_v1) against one primitive implementation. The files
 * are read from ../shared/vectors/wycheproof at run time, never copied into the project.
 */
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/encoding";
import { verifyEd25519 } from "../../src/ed25519";
import { x25519SharedSecret, type BoxPrivateKey, type BoxPublicKey } from "../../src/keys";
import type { Primitives } from "../../src/primitives/types";
import { field, loadWycheproof, type WycheproofFile } from "../vectors/load";

// Case counts of the pinned Wycheproof commit (../shared/vectors/README.md): an empty,
// truncated or swapped file fails at load instead of passing with nothing checked.
export const WYCHEPROOF_CASES: Readonly<Record<string, number>> = Object.freeze({
  "x25519_test.json": 518,
  "ed25519_test.json": 151,
  "xchacha20_poly1305_test.json": 315,
  "chacha20_poly1305_test.json": 325,
  "aes_gcm_test.json": 316,
  "hkdf_sha256_test.json": 86,
  "hmac_sha256_test.json": 174,
});
const load = (name: string): Promise<WycheproofFile | null> => loadWycheproof(name, WYCHEPROOF_CASES[name] ?? -1);

const files = {
  x25519: await load("x25519_test.json"),
  ed25519: await load("ed25519_test.json"),
  xchacha: await load("xchacha20_poly1305_test.json"),
  chacha: await load("chacha20_poly1305_test.json"),
  aesGcm: await load("aes_gcm_test.json"),
  hkdf: await load("hkdf_sha256_test.json"),
  hmac: await load("hmac_sha256_test.json"),
};

/** Runs `check` on every case of `file` and asserts how many ran. */
function everyCase(
  file: WycheproofFile | null,
  expected: number,
  check: (g: WycheproofFile["testGroups"][number], t: WycheproofFile["testGroups"][number]["tests"][number]) => void,
): void {
  let ran = 0;
  for (const g of file?.testGroups ?? []) {
    for (const t of g.tests) {
      check(g, t);
      ran++;
    }
  }
  expect(ran).toBe(expected);
}

function attempt<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

type Aead = { seal: Primitives["aesGcmSeal"]; open: Primitives["aesGcmOpen"] };

function aeadSuite(file: WycheproofFile, aead: Aead, supported: (keyBits: number, ivBits: number) => boolean): void {
  let checked = 0;
  let refused = 0;
  for (const g of file.testGroups) {
    for (const t of g.tests) {
      const key = fromHex(field(t, "key"));
      const iv = fromHex(field(t, "iv"));
      const aad = fromHex(field(t, "aad"));
      const msg = fromHex(field(t, "msg"));
      const sealed = fromHex(field(t, "ct") + field(t, "tag"));
      const label = `tcId ${t.tcId} ${t.comment} [${t.flags.join(",")}]`;
      if (g.tagSize !== 128 || !supported(g.keySize ?? 0, g.ivSize ?? 0)) {
        // Sizes outside the primitive's contract are refused outright, never processed.
        expect(
          attempt(() => aead.seal(key, iv, msg, aad)),
          label,
        ).toBeNull();
        expect(
          attempt(() => aead.open(key, iv, sealed, aad)),
          label,
        ).toBeNull();
        refused++;
        continue;
      }
      const opened = attempt(() => aead.open(key, iv, sealed, aad));
      if (t.result === "invalid") {
        expect(opened, label).toBeNull();
      } else {
        expect(opened && toHex(opened), label).toBe(toHex(msg));
        expect(toHex(aead.seal(key, iv, msg, aad)), label).toBe(toHex(sealed));
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
  expect(checked + refused).toBe(file.numberOfTests);
}

export function wycheproofSuite(p: Primitives): void {
  describe(`Wycheproof (${p.name})`, () => {
    // null only when the whole ../shared/vectors folder is absent (a user's fresh clone): then
    // load.ts has said so once and these suites skip. Any other read error failed at load.
    describe.skipIf(files.x25519 === null)("x25519_test.json", () => {
      it("every vector (518): raw output equals `shared` (all-zero for low-order keys, which callers reject)", () => {
        let refusedByCaller = 0;
        everyCase(files.x25519, 518, (_g, t) => {
          const priv = fromHex(field(t, "private"));
          const pub = fromHex(field(t, "public"));
          const out = p.x25519(priv, pub);
          expect(toHex(out), `tcId ${t.tcId} ${t.comment}`).toBe(field(t, "shared"));
          // The caller every protocol uses refuses exactly the all-zero outputs, and returns the rest.
          if (out.every((b) => b === 0)) {
            expect(() => x25519SharedSecret(priv as BoxPrivateKey, pub as BoxPublicKey), `tcId ${t.tcId}`).toThrow(
              RangeError,
            );
            refusedByCaller += 1;
          } else expect(toHex(x25519SharedSecret(priv as BoxPrivateKey, pub as BoxPublicKey))).toBe(toHex(out));
        });
        expect(refusedByCaller).toBeGreaterThan(0);
      });
    });

    describe.skipIf(files.ed25519 === null)("ed25519_test.json", () => {
      it("every vector (151) under the strict rule (verifyEd25519)", () => {
        everyCase(files.ed25519, 151, (g, t) => {
          const pk = fromHex(g.publicKey?.pk ?? "");
          const ok = pk.length === 32 && verifyEd25519(pk, fromHex(field(t, "msg")), fromHex(field(t, "sig")), p);
          expect(ok, `tcId ${t.tcId} ${t.comment}`).toBe(t.result === "valid");
        });
      });
    });

    chachaCases(p);

    describe.skipIf(files.aesGcm === null)("aes_gcm_test.json", () => {
      it("128/256-bit keys with 96-bit IVs checked; other sizes refused", () => {
        if (files.aesGcm)
          aeadSuite(
            files.aesGcm,
            { seal: p.aesGcmSeal, open: p.aesGcmOpen },
            (k, iv) => (k === 128 || k === 256) && iv === 96,
          );
      });
    });

    describe.skipIf(files.hkdf === null)("hkdf_sha256_test.json", () => {
      it("valid vectors match; oversized outputs are refused (86)", () => {
        everyCase(files.hkdf, 86, (_g, t) => {
          const size = t.size as number;
          const out = attempt(() =>
            p.hkdfSha256(fromHex(field(t, "ikm")), fromHex(field(t, "salt")), fromHex(field(t, "info")), size),
          );
          if (t.result === "invalid") expect(out, `tcId ${t.tcId}`).toBeNull();
          else expect(out && toHex(out), `tcId ${t.tcId}`).toBe(field(t, "okm"));
        });
      });
    });

    describe.skipIf(files.hmac === null)("hmac_sha256_test.json", () => {
      it("valid tags match (truncated where the group says); modified tags do not (174)", () => {
        everyCase(files.hmac, 174, (g, t) => {
          const tag = toHex(p.hmacSha256(fromHex(field(t, "key")), fromHex(field(t, "msg")))).slice(
            0,
            (g.tagSize ?? 256) / 4,
          );
          expect(tag === field(t, "tag"), `tcId ${t.tcId}`).toBe(t.result === "valid");
        });
      });
    });
  });
}

/** The ChaCha20-Poly1305 and XChaCha20-Poly1305 files alone, for an implementation of only those. */
export function wycheproofChaChaSuite(p: Primitives): void {
  describe(`Wycheproof ChaCha20-Poly1305 (${p.name})`, () => chachaCases(p));
}

function chachaCases(p: Primitives): void {
  for (const [name, file, aead, ivBits] of [
    [
      "xchacha20_poly1305_test.json",
      files.xchacha,
      { seal: p.xchacha20poly1305Seal, open: p.xchacha20poly1305Open },
      192,
    ],
    ["chacha20_poly1305_test.json", files.chacha, { seal: p.chacha20poly1305Seal, open: p.chacha20poly1305Open }, 96],
  ] as const)
    describe.skipIf(file === null)(name, () => {
      it("valid vectors seal and open; invalid ones fail to open", () => {
        if (file) aeadSuite(file, aead, (k, iv) => k === 256 && iv === ivBits);
      });
    });
}
