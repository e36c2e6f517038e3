// Admin delegation across the two ends that must agree: the browser's trust code (the signer's
// browser signs a delegation; a delegated admin's browser signs grants carrying it) and the
// companion's grant verification. Also what a console could try with the delegations it stores
// and serves: swap in one for another key or instance, or mint one under its own key.
import { randomUUID } from "node:crypto";
import { describe, expect, test } from "vitest";
import { generateBoxKeyPair, generateIdentityKeyPair, toBase64Url, type SignedStatement } from "@veil/crypto";
import type { TInstanceCertificateBody } from "@veil/protocol";
import {
  checkDelegation,
  grantMatchesSigner,
  signDelegation,
  signGrant,
  type AccountPublicKeys,
  type VerifiedInstance,
} from "../../apps/console/src/client/instances/trust";
import { GrantError, verifyGrantBundle } from "../../apps/companion/src/grants/verify-grant";
import { certifyAccountBoxKey, makeAccount, type TestAccount } from "../../apps/companion/test/harness/fixtures";

const instanceId = randomUUID();

function publicKeys(a: TestAccount): AccountPublicKeys {
  return {
    accountId: a.accountId,
    identityPublicKey: toBase64Url(a.identity.publicKey),
    boxPublicKey: toBase64Url(a.box.publicKey),
    boxKeyCertificate: certifyAccountBoxKey(a) as SignedStatement,
  };
}

const signer = makeAccount();
/** The instance as a browser holds it after verifying its certificate (only the signer key matters here). */
const verified: VerifiedInstance = {
  body: {} as TInstanceCertificateBody,
  signerPublicKey: signer.identity.publicKey,
  boxPublicKey: generateBoxKeyPair().publicKey,
  signerSafetyCode: "",
};
const companionContext = { instanceId, signer: signer.identity.publicKey, now: Date.now() };

describe("admin delegation: browser-made, companion-checked", () => {
  const delegate = makeAccount();
  const member = makeAccount();
  const expiresAt = Date.now() + 3600_000;
  const delegation = signDelegation(signer.identity.privateKey, instanceId, publicKeys(delegate), expiresAt);

  test("a delegated admin's grant carries the delegation and the companion accepts it as delegated", () => {
    const held = checkDelegation(delegation, verified, instanceId, toBase64Url(delegate.identity.publicKey));
    expect(held).not.toBeNull();
    const bundle = signGrant(
      delegate.identity.privateKey,
      delegate.identity.publicKey,
      instanceId,
      publicKeys(member),
      "operator",
      expiresAt,
      Date.now(),
      held ?? undefined,
    );
    expect(grantMatchesSigner(bundle, verified, instanceId)).toBe(true);
    const g = verifyGrantBundle(JSON.stringify(bundle), companionContext);
    expect(g).toMatchObject({ via: "delegated", role: "operator", accountId: member.accountId });
  });

  test("without the delegation the same grant is refused by both ends", () => {
    const bundle = signGrant(
      delegate.identity.privateKey,
      delegate.identity.publicKey,
      instanceId,
      publicKeys(member),
      "operator",
      expiresAt,
    );
    expect(grantMatchesSigner(bundle, verified, instanceId)).toBe(false);
    expect(() => verifyGrantBundle(JSON.stringify(bundle), companionContext)).toThrow(GrantError);
  });

  test("a console's swapped or minted delegation is unusable: another key, another instance, its own signer, expired", () => {
    const forKey = toBase64Url(delegate.identity.publicKey);
    const other = makeAccount();
    const consoleKey = generateIdentityKeyPair();
    const cases = {
      "for another admin": signDelegation(signer.identity.privateKey, instanceId, publicKeys(other), expiresAt),
      "for another instance": signDelegation(signer.identity.privateKey, randomUUID(), publicKeys(delegate), expiresAt),
      "minted by the console": signDelegation(consoleKey.privateKey, instanceId, publicKeys(delegate), expiresAt),
      expired: signDelegation(
        signer.identity.privateKey,
        instanceId,
        publicKeys(delegate),
        Date.now() - 1000,
        Date.now() - 5000,
      ),
      "not a statement": { body: "x" },
    };
    for (const [name, d] of Object.entries(cases)) {
      expect(checkDelegation(d, verified, instanceId, forKey), name).toBeNull();
    }
    // And were a browser fooled into using one, the companion refuses the grant anyway.
    for (const name of ["for another instance", "minted by the console", "expired"] as const) {
      const bundle = {
        ...signGrant(
          delegate.identity.privateKey,
          delegate.identity.publicKey,
          instanceId,
          publicKeys(member),
          "viewer",
          expiresAt,
        ),
        delegation: cases[name],
      };
      expect(() => verifyGrantBundle(JSON.stringify(bundle), companionContext), name).toThrow(/delegation_invalid/);
    }
  });
});
