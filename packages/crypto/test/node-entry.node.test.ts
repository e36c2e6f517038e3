// The @veil/crypto/node entry: switching the process to node:crypto keeps every construction
// working and interoperable with the pure-JS path.
import { afterAll, describe, expect, it } from "vitest";
import { useNativePrimitives, nodePrimitives } from "../src/node";
import { getPrimitives, noblePrimitives, setPrimitives } from "../src/primitives/index";
import { deriveHpkeKeyPair, hpkeOpen, hpkeSeal } from "../src/hpke";
import type { WrapKey } from "../src/kdf";
import { generateIdentityKeyPair } from "../src/keys";
import { randomBytes } from "../src/random";
import { signStatement, verifyStatement } from "../src/sign";
import { unwrapKey, wrapKey } from "../src/wrap";

describe("useNativePrimitives", () => {
  afterAll(() => setPrimitives(noblePrimitives));

  it("selects nodePrimitives for the whole process", () => {
    useNativePrimitives();
    expect(getPrimitives()).toBe(nodePrimitives);
  });

  it("wrapped keys, statements and HPKE cross between the two paths", () => {
    const wk = randomBytes(32) as WrapKey;
    const ctx = { ownerId: "inst_9", purpose: "vault-private-key" };
    const id = generateIdentityKeyPair();
    const r = deriveHpkeKeyPair(new Uint8Array(32).fill(9));
    const msg = new TextEncoder().encode("x");

    setPrimitives(nodePrimitives);
    const w = wrapKey(wk, msg, ctx);
    const s = signStatement("veil/v1/grant", { a: 1 }, id.privateKey);
    const h = hpkeSeal({ recipientPublicKey: r.publicKey }, msg);

    setPrimitives(noblePrimitives);
    expect(unwrapKey(wk, w, ctx)).toEqual(msg);
    expect(verifyStatement(s, "veil/v1/grant", id.publicKey)).toEqual({ a: 1 });
    expect(hpkeOpen({ enc: h.enc, recipientPrivateKey: r.privateKey }, h.ciphertext)).toEqual(msg);
  });
});
