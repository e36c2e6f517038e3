// fast-check properties: round trips of wrap, seal (1–5 recipients), sign and encodings.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../src/encoding";
import { DecryptError } from "../src/errors";
import type { WrapKey } from "../src/kdf";
import {
  generateBoxKeyPair,
  generateIdentityKeyPair,
  identityKeyPairFromPrivateKey,
  identityPrivateKey,
} from "../src/keys";
import { seal, unseal } from "../src/seal";
import { canonicalJson, signStatement, verifyStatement, type JsonValue } from "../src/sign";
import { unwrapKey, wrapKey } from "../src/wrap";
import { bytes } from "./arbitraries";

const owner = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/);
const purpose = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/);

describe("properties", () => {
  it("encodings round-trip", () => {
    fc.assert(
      fc.property(bytes(0, 200), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(fromBase64Url(toBase64Url(b))).toEqual(b);
      }),
    );
  });

  it("wrap then unwrap returns the key; another context fails", () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(1, 128), owner, purpose, owner, (k, key, ownerId, p, other) => {
        const w = wrapKey(k as WrapKey, key, { ownerId, purpose: p });
        expect(unwrapKey(k as WrapKey, w, { ownerId, purpose: p })).toEqual(key);
        if (other !== ownerId)
          expect(() => unwrapKey(k as WrapKey, w, { ownerId: other, purpose: p })).toThrow(DecryptError);
      }),
      { numRuns: 100 },
    );
  });

  it("seal then unseal for 1–5 recipients, with and without sender authentication and signature", () => {
    const sender = generateBoxKeyPair();
    const signer = generateIdentityKeyPair();
    fc.assert(
      fc.property(
        bytes(0, 300),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.boolean(),
        bytes(0, 16),
        (pt, n, auth, signed, aad) => {
          const rs = Array.from({ length: n }, () => generateBoxKeyPair());
          const box = seal(pt, {
            recipients: rs.map((r) => r.publicKey),
            aad,
            ...(auth ? { sender } : {}),
            ...(signed ? { signer: signer.privateKey } : {}),
          });
          for (const r of rs) {
            const opened = unseal(box, {
              recipient: r,
              aad,
              ...(auth ? { sender: sender.publicKey } : {}),
              ...(signed ? { signer: signer.publicKey } : {}),
            });
            expect(opened).toEqual(pt);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("sign then verify any canonical-JSON body", () => {
    const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string(),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(bytes(32, 32), json, (seed, body) => {
        const kp = identityKeyPairFromPrivateKey(identityPrivateKey(seed));
        const s = signStatement("veil/v1/test", body, kp.privateKey);
        expect(canonicalJson(verifyStatement(s, "veil/v1/test", kp.publicKey))).toBe(canonicalJson(body));
      }),
      { numRuns: 50 },
    );
  });
});
