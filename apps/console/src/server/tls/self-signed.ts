import { webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
// @peculiar/x509 2.x resolves its ASN.1 services through tsyringe, which needs a Reflect
// metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

const VALID_DAYS = 825;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trim()}\n-----END ${label}-----\n`;
}

/**
 * Loads `<dataDir>/tls/self-signed.{crt,key}` or creates them on first start: an EC P-256 key
 * (written 0600) and an ECDSA-SHA-256 certificate for localhost, the machine's host name and
 * the loopback addresses (plus `extraNames`). Reused on every later start so pins stay valid.
 */
export async function loadOrCreateSelfSigned(
  dataDir: string,
  extraNames: readonly string[] = [],
): Promise<PemPair & { created: boolean }> {
  const dir = path.join(dataDir, "tls");
  const certFile = path.join(dir, "self-signed.crt");
  const keyFile = path.join(dir, "self-signed.key");
  if (existsSync(certFile) && existsSync(keyFile)) {
    return { certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8"), created: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const crypto = webcrypto as unknown as Crypto;
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const dnsNames = [...new Set(["localhost", hostname(), ...extraNames].filter((n) => n && !/^[\d.:]+$/.test(n)))];
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: "CN=Veil console (self-signed)",
      notBefore,
      notAfter: new Date(notBefore.getTime() + VALID_DAYS * 86_400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...dnsNames.map((value) => ({ type: "dns" as const, value })),
          { type: "ip" as const, value: "127.0.0.1" },
          { type: "ip" as const, value: "::1" },
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const keyPem = pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const certPem = cert.toString("pem") + "\n";
  writeFileSync(keyFile, keyPem, { mode: 0o600, flag: "wx" });
  writeFileSync(certFile, certPem, { mode: 0o644, flag: "wx" });
  return { certPem, keyPem, created: true };
}
