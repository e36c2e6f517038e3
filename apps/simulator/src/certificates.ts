/**
 * Self-signed TLS certificates (EC P-256, ECDSA-SHA-256) for the devices' HTTPS management API,
 * made by @veil/tls. Tests parse the result with node's X509Certificate and connect to it.
 */
import { certificateFingerprint, createSelfSignedCertificate } from "@veil/tls";

/** PEM key and certificate plus the SHA-256 fingerprint (hex) of the certificate's DER. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

/** Makes a fresh self-signed certificate for `commonName` with `ips` as IP SANs, valid 5 years. */
export async function makeCertificate(commonName: string, ips: string[]): Promise<TlsIdentity> {
  const made = await createSelfSignedCertificate({ commonName, ipAddresses: ips, validDays: 5 * 365 });
  return { keyPem: made.keyPem, certPem: made.certPem, fingerprint: certificateFingerprint(made.certDer) };
}
