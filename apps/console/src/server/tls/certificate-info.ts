import { X509Certificate } from "node:crypto";
import { certificateFingerprint, spkiPin } from "@veil/tls";

export interface CertificateInfo {
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (what browsers show). */
  readonly fingerprint256: string;
  /** HPKP-style pin of the public key: `sha256//<base64 SHA-256 of the SPKI>`; survives re-issue with the same key. */
  readonly spkiPin: string;
  readonly notAfter: Date;
  readonly subject: string;
  readonly selfSigned: boolean;
}

/** Fingerprint and SPKI pin of the first certificate in a PEM chain. */
export function describeCertificate(certPem: string): CertificateInfo {
  const cert = new X509Certificate(certPem);
  return {
    fingerprint256: certificateFingerprint(cert, "colon-hex"),
    spkiPin: spkiPin(cert),
    notAfter: new Date(cert.validTo),
    subject: cert.subject,
    // checkIssued() would also demand keyCertSign, which a leaf certificate must not have.
    selfSigned: cert.issuer === cert.subject && cert.verify(cert.publicKey),
  };
}
