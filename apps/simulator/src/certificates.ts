/**
 * Self-signed TLS certificates (EC P-256, SHA-256) made with @peculiar/x509 over node's
 * WebCrypto, for the devices' HTTPS management API. About 10 ms each, made lazily.
 */
import { createHash, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** PEM key and certificate plus the SHA-256 fingerprint of the certificate's DER. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${(Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${label}-----\n`;

/** Makes a fresh self-signed certificate for `commonName` with `ips` as IP SANs. */
export async function makeCertificate(commonName: string, ips: string[], serial: number): Promise<TlsIdentity> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial + 1).toString(16).padStart(2, "0"),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 5 * 365 * 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(ips.map((value) => ({ type: "ip" as const, value })))],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keyPem: pem("PRIVATE KEY", pkcs8), certPem: cert.toString("pem"), fingerprint: createHash("sha256").update(Buffer.from(cert.rawData)).digest("hex") };
}
