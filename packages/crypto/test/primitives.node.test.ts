// Known-answer and Wycheproof vectors against the node:crypto primitives (Node only).
import { describe, expect, it } from "vitest";
import { verifyEd25519 } from "../src/ed25519";
import { noblePrimitives } from "../src/primitives/noble";
import { nodePrimitives } from "../src/primitives/node";
import { knownAnswerSuite } from "./suites/known-answers";
import { mixedOrderCases, mixedOrderSuite } from "./suites/mixed-order";
import { wycheproofSuite } from "./suites/wycheproof";

knownAnswerSuite(nodePrimitives);
wycheproofSuite(nodePrimitives);
mixedOrderSuite(nodePrimitives);

describe("noble and node:crypto agree on mixed-order Ed25519 keys (review finding 8)", () => {
  it("the same answer on every crafted case", () => {
    for (const [i, c] of mixedOrderCases().entries()) {
      expect(verifyEd25519(c.publicKey, c.message, c.signature, noblePrimitives), `case ${i}`).toBe(
        verifyEd25519(c.publicKey, c.message, c.signature, nodePrimitives),
      );
    }
  });
});
