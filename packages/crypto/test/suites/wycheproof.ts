/**
 * Wycheproof (C2SP/wycheproof testvectors_v1) against one primitive implementation. The files
 * are read from ../shared/vectors/wycheproof at run time, never copied into the project.
 */
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/encoding";
import { verifyEd25519 } from "../../src/ed25519";
import type { Primitives } from "../../src/primitives/types";
import { field, loadWycheproof, type WycheproofFile } from "../vectors/load";

const files = {
  x25519: await loadWycheproof("x25519_test.json"),
  ed25519: await loadWycheproof("ed25519_test.json"),
  xchacha: await loadWycheproof("xchacha20_poly1305_test.json"),
  chacha: await loadWycheproof("chacha20_poly1305_test.json"),
  aesGcm: await loadWycheproof("aes_gcm_test.json"),
  hkdf: await loadWycheproof("hkdf_sha256_test.json"),
  hmac: await loadWycheproof("hmac_sha256_test.json"),
};

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
        expect(attempt(() => aead.seal(key, iv, msg, aad)), label).toBeNull();
        expect(attempt(() => aead.open(key, iv, sealed, aad)), label).toBeNull();
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
}

export function wycheproofSuite(p: Primitives): void {
  describe(`Wycheproof (${p.name})`, () => {
    // Absent when ../shared/vectors is not beside the repository (a user's fresh clone).
    describe.skipIf(files.x25519 === null)("x25519_test.json", () => {
      it("every vector: raw output equals `shared` (all-zero for low-order keys, which callers reject)", () => {
        for (const g of files.x25519?.testGroups ?? []) {
          for (const t of g.tests) {
            const out = p.x25519(fromHex(field(t, "private")), fromHex(field(t, "public")));
            expect(toHex(out), `tcId ${t.tcId} ${t.comment}`).toBe(field(t, "shared"));
          }
        }
      });
    });

    describe.skipIf(files.ed25519 === null)("ed25519_test.json", () => {
      it("every vector under the strict rule (verifyEd25519)", () => {
        for (const g of files.ed25519?.testGroups ?? []) {
          const pk = fromHex(g.publicKey?.pk ?? "");
          for (const t of g.tests) {
            const ok = pk.length === 32 && verifyEd25519(pk, fromHex(field(t, "msg")), fromHex(field(t, "sig")), p);
            expect(ok, `tcId ${t.tcId} ${t.comment}`).toBe(t.result === "valid");
          }
        }
      });
    });

    describe.skipIf(files.xchacha === null)("xchacha20_poly1305_test.json", () => {
      it("valid vectors seal and open; invalid ones fail to open", () => {
        if (files.xchacha) aeadSuite(files.xchacha, { seal: p.xchacha20poly1305Seal, open: p.xchacha20poly1305Open }, (k, iv) => k === 256 && iv === 192);
      });
    });

    describe.skipIf(files.chacha === null)("chacha20_poly1305_test.json", () => {
      it("valid vectors seal and open; invalid ones fail to open", () => {
        if (files.chacha) aeadSuite(files.chacha, { seal: p.chacha20poly1305Seal, open: p.chacha20poly1305Open }, (k, iv) => k === 256 && iv === 96);
      });
    });

    describe.skipIf(files.aesGcm === null)("aes_gcm_test.json", () => {
      it("128/256-bit keys with 96-bit IVs checked; other sizes refused", () => {
        if (files.aesGcm) aeadSuite(files.aesGcm, { seal: p.aesGcmSeal, open: p.aesGcmOpen }, (k, iv) => (k === 128 || k === 256) && iv === 96);
      });
    });

    describe.skipIf(files.hkdf === null)("hkdf_sha256_test.json", () => {
      it("valid vectors match; oversized outputs are refused", () => {
        for (const g of files.hkdf?.testGroups ?? []) {
          for (const t of g.tests) {
            const size = t.size as number;
            const out = attempt(() => p.hkdfSha256(fromHex(field(t, "ikm")), fromHex(field(t, "salt")), fromHex(field(t, "info")), size));
            if (t.result === "invalid") expect(out, `tcId ${t.tcId}`).toBeNull();
            else expect(out && toHex(out), `tcId ${t.tcId}`).toBe(field(t, "okm"));
          }
        }
      });
    });

    describe.skipIf(files.hmac === null)("hmac_sha256_test.json", () => {
      it("valid tags match (truncated where the group says); modified tags do not", () => {
        for (const g of files.hmac?.testGroups ?? []) {
          for (const t of g.tests) {
            const tag = toHex(p.hmacSha256(fromHex(field(t, "key")), fromHex(field(t, "msg")))).slice(0, (g.tagSize ?? 256) / 4);
            expect(tag === field(t, "tag"), `tcId ${t.tcId}`).toBe(t.result === "valid");
          }
        }
      });
    });
  });
}
