import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { useNativePrimitives } from "@veil/crypto/node";
import {
  signStatement,
  toBase64Url,
  generateIdentityKeyPair,
  generateBoxKeyPair,
  type SignedStatement,
} from "../src/crypto";
import { INSTANCE_CERTIFICATE_DOMAIN } from "../src/protocol";
import { EnrollmentError } from "../src/enroll/verify-certificate";
import { makeSelfSignedCert } from "./harness/certs";
import { captureLogger, enrollInto, tempStateDir } from "./harness/companion";
import { makeAccount, makeInstance, type TestAccount, type TestInstance } from "./harness/fixtures";
import { TestConsole } from "./harness/test-console";

useNativePrimitives();

describe("enrollment against a malicious console", () => {
  const cert = makeSelfSignedCert();
  const evil = new TestConsole(cert);
  let admin: TestAccount;
  let a: TestInstance;
  let b: TestInstance;
  let state: ReturnType<typeof tempStateDir>;

  beforeAll(async () => {
    await evil.start();
    admin = makeAccount();
    a = await makeInstance(admin, "a");
    b = await makeInstance(admin, "b");
    evil.instances.set(a.instanceId, a.record);
    evil.instances.set(b.instanceId, b.record);
  });
  afterAll(async () => {
    await evil.stop();
  });
  beforeEach(() => {
    evil.tamper = {};
    evil.requests.length = 0;
    state?.cleanup();
    state = tempStateDir();
  });

  const nothingWritten = (): void => {
    const files = existsSync(state.dir) ? readdirSync(state.dir) : [];
    expect(files).toEqual([]);
  };

  async function expectRefused(code: EnrollmentError["code"]): Promise<void> {
    const { logger } = captureLogger();
    const error = await enrollInto(state.dir, a.enrollment(evil.url, cert.pin), logger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EnrollmentError);
    expect((error as EnrollmentError).code).toBe(code);
    nothingWritten();
  }

  it("serves weak KDF params: refused before deriving or sending the auth key", async () => {
    evil.tamper.kdf = (body) => ({ kdf: { ...body.kdf, memoryKiB: 1024, iterations: 1 } });
    await expectRefused("kdf_rejected");
    expect(evil.requests.map((r) => r.path)).toEqual([`/api/companion/v1/instances/${a.instanceId}/kdf`]);
  });

  it("serves another instance's wrapped keys", async () => {
    evil.tamper.enroll = (body) => ({
      ...body,
      wrappedIdentityPrivateKey: b.record.wrappedIdentityPrivateKey,
      wrappedBoxPrivateKey: b.record.wrappedBoxPrivateKey,
    });
    await expectRefused("wrapped_keys_invalid");
  });

  it("swaps this instance's own wrapped identity and box keys: refused, nothing written", async () => {
    // The one swap a console can make with what it holds for the instance (same token, same owner):
    // the AAD binds each wrapped key's purpose and certified public key.
    evil.tamper.enroll = (body) => ({
      ...body,
      wrappedIdentityPrivateKey: a.record.wrappedBoxPrivateKey,
      wrappedBoxPrivateKey: a.record.wrappedIdentityPrivateKey,
    });
    await expectRefused("wrapped_keys_invalid");
    expect(evil.requests.map((r) => r.path)).toEqual([
      `/api/companion/v1/instances/${a.instanceId}/kdf`,
      `/api/companion/v1/instances/${a.instanceId}/enroll`,
    ]);
  });

  it("swaps the instance public keys in the certificate (signature kept)", async () => {
    const other = generateBoxKeyPair();
    evil.tamper.enroll = (body) => {
      const c = a.record.certificate;
      const st = c.statement as SignedStatement;
      return {
        ...body,
        certificate: {
          ...c,
          statement: { ...st, body: { ...(st.body as object), boxPublicKey: toBase64Url(other.publicKey) } },
        },
      };
    };
    await expectRefused("certificate_invalid");
  });

  it("serves another instance's (validly signed) certificate", async () => {
    evil.tamper.enroll = (body) => ({ ...body, certificate: b.record.certificate });
    await expectRefused("certificate_invalid");
  });

  it("serves a certificate it signed itself for keys it controls", async () => {
    const consoleKey = generateIdentityKeyPair();
    const identity = generateIdentityKeyPair();
    const box = generateBoxKeyPair();
    const statement = signStatement(
      INSTANCE_CERTIFICATE_DOMAIN,
      {
        instanceId: a.instanceId,
        name: "a",
        identityPublicKey: toBase64Url(identity.publicKey),
        boxPublicKey: toBase64Url(box.publicKey),
        issuedAt: Date.now(),
      },
      consoleKey.privateKey,
    );
    evil.tamper.enroll = (body) => ({
      ...body,
      certificate: { statement, signerPublicKey: toBase64Url(consoleKey.publicKey) },
    });
    await expectRefused("signer_mismatch");
  });

  it("serves a certificate for keys other than the wrapped ones, signed by the real admin", async () => {
    // Even an admin-signed certificate must certify exactly the keys that were unwrapped.
    const identity = generateIdentityKeyPair();
    const statement = signStatement(
      INSTANCE_CERTIFICATE_DOMAIN,
      {
        instanceId: a.instanceId,
        name: "a",
        identityPublicKey: toBase64Url(identity.publicKey),
        boxPublicKey: toBase64Url(a.box.publicKey),
        issuedAt: Date.now(),
      },
      admin.identity.privateKey,
    );
    evil.tamper.enroll = (body) => ({
      ...body,
      certificate: { statement, signerPublicKey: toBase64Url(admin.identity.publicKey) },
    });
    // The wrapped keys' AAD binds the certified public key, so the unwrap itself fails.
    await expectRefused("wrapped_keys_invalid");
  });

  it("refuses a wrong token (the console says unauthenticated)", async () => {
    const { logger } = captureLogger();
    const wrong = await makeInstance(admin, "never stored");
    evil.instances.set(wrong.instanceId, { ...a.record, instanceId: wrong.instanceId });
    const error = await enrollInto(state.dir, wrong.enrollment(evil.url, cert.pin), logger).catch((e: unknown) => e);
    expect((error as EnrollmentError).code).toBe("unauthenticated");
    nothingWritten();
  });

  it("enrolls honestly, and a second run is a no-op; another instance over it is refused", async () => {
    const { logger } = captureLogger();
    await enrollInto(state.dir, a.enrollment(evil.url, cert.pin), logger);
    expect(readdirSync(state.dir).sort()).toEqual(["config.json", "secrets.json"]);
    const requests = evil.requests.length;
    await enrollInto(state.dir, a.enrollment(evil.url, cert.pin), logger);
    expect(evil.requests.length).toBe(requests);
    const error = await enrollInto(state.dir, b.enrollment(evil.url, cert.pin), logger).catch((e: unknown) => e);
    expect((error as EnrollmentError).code).toBe("already_enrolled");
  });
});
