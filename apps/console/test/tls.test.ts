import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeCertificate } from "../src/server/tls/certificate-info";
import { loadOrCreateSelfSigned } from "../src/server/tls/self-signed";
import { TLS_CIPHERS } from "../src/server/tls/tls-options";

describe("self-signed certificate", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "veil-tls-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is created once (EC P-256, ECDSA-SHA-256, key 0600) and reused on later starts", async () => {
    const first = await loadOrCreateSelfSigned(dir);
    const second = await loadOrCreateSelfSigned(dir);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.certPem).toBe(first.certPem);
    expect(statSync(path.join(dir, "tls", "self-signed.key")).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(first.certPem);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.subjectAltName).toContain("DNS:localhost");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(cert.ca).toBe(false);
    const info = describeCertificate(first.certPem);
    expect(info.selfSigned).toBe(true);
    expect(info.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(info.spkiPin).toMatch(/^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  });

  it("offers only forward-secret AEAD suites", () => {
    for (const suite of TLS_CIPHERS.split(":"))
      expect(suite).toMatch(/^(TLS_(AES|CHACHA20)|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM|CHACHA20-POLY1305))/);
  });
});
