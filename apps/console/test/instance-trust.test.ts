// The browser's check of a listed instance (verifyInstance): a console that serves instance
// material of its own making must be caught here, before a Noise handshake is pointed at it.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateBoxKeyPair,
  generateIdentityKeyPair,
  safetyCode,
  signStatement,
  toBase64Url,
  type JsonValue,
  type SignedStatement,
} from "@veil/crypto";
import { INSTANCE_CERTIFICATE_DOMAIN, type TInstanceSummary } from "@veil/protocol";
import { InstanceTrustError, verifyInstance } from "../src/client/instances/trust";
import { certifiedListing } from "./helpers/verified-instance";

const admin = generateIdentityKeyPair();
const consoleKey = generateIdentityKeyPair();

/** A listing as the console serves it for an instance `admin` certified. */
const listed = (): TInstanceSummary => certifiedListing(randomUUID(), admin);

/** The certificate's statement with its body changed and the original signature kept. */
function rewritten(instance: TInstanceSummary, change: Record<string, JsonValue>): SignedStatement {
  const statement = instance.certificate.statement as SignedStatement;
  return { ...statement, body: { ...(statement.body as Record<string, JsonValue>), ...change } };
}

const refusal = (instance: TInstanceSummary): string => {
  try {
    verifyInstance(instance);
  } catch (error) {
    expect(error).toBeInstanceOf(InstanceTrustError);
    return (error as Error).message;
  }
  throw new Error("accepted");
};

describe("the browser's check of a listed instance", () => {
  it("accepts the admin's certificate and names its signer", () => {
    const instance = listed();
    const verified = verifyInstance(instance);
    expect(verified.body.instanceId).toBe(instance.id);
    expect(verified.signerPublicKey).toEqual(admin.publicKey);
    expect(verified.signerSafetyCode).toBe(safetyCode(admin.publicKey));
  });

  it("refuses a box key swapped in the listing and in the certificate's body, the admin's signature kept", () => {
    const instance = listed();
    const consoleBox = toBase64Url(generateBoxKeyPair().publicKey);
    const forged = {
      ...instance,
      boxPublicKey: consoleBox,
      certificate: { ...instance.certificate, statement: rewritten(instance, { boxPublicKey: consoleBox }) },
    };
    expect(refusal(forged)).toMatch(/\(signature\)/);
  });

  it("refuses an identity key swapped the same way, and a renamed instance", () => {
    const instance = listed();
    const consoleIdentity = toBase64Url(generateIdentityKeyPair().publicKey);
    expect(
      refusal({
        ...instance,
        identityPublicKey: consoleIdentity,
        certificate: {
          ...instance.certificate,
          statement: rewritten(instance, { identityPublicKey: consoleIdentity }),
        },
      }),
    ).toMatch(/\(signature\)/);
    expect(
      refusal({
        ...instance,
        certificate: { ...instance.certificate, statement: rewritten(instance, { name: "another site" }) },
      }),
    ).toMatch(/\(signature\)/);
  });

  it("refuses a certificate under another domain, and one the listed signer did not sign", () => {
    const instance = listed();
    const statement = instance.certificate.statement as SignedStatement;
    expect(
      refusal({
        ...instance,
        certificate: {
          ...instance.certificate,
          statement: signStatement("veil/v1/grant", statement.body, admin.privateKey),
        },
      }),
    ).toMatch(/\(signature\)/);
    expect(
      refusal({
        ...instance,
        certificate: { ...instance.certificate, signerPublicKey: toBase64Url(consoleKey.publicKey) },
      }),
    ).toMatch(/\(signature\)/);
  });

  it("refuses listed keys the certificate does not certify, and another instance's certificate", () => {
    const instance = listed();
    expect(refusal({ ...instance, boxPublicKey: toBase64Url(generateBoxKeyPair().publicKey) })).toMatch(
      /public keys differ/,
    );
    const other = listed();
    expect(refusal({ ...instance, certificate: other.certificate })).toMatch(/another instance/);
  });

  it("names the console's own key as the signer of a certificate it made whole, so the caller can refuse it", () => {
    // Signature and keys agree; only the signer gives it away. The instance page compares it with
    // the admin's key or the signer this browser pinned (use-instance-verification.ts).
    const instance = listed();
    const statement = signStatement(
      INSTANCE_CERTIFICATE_DOMAIN,
      (instance.certificate.statement as SignedStatement).body,
      consoleKey.privateKey,
    );
    const verified = verifyInstance({
      ...instance,
      certificate: { statement, signerPublicKey: toBase64Url(consoleKey.publicKey) },
    });
    expect(verified.signerPublicKey).toEqual(consoleKey.publicKey);
    expect(verified.signerSafetyCode).not.toBe(safetyCode(admin.publicKey));
  });
});
