import type { SecureContextOptions, TlsOptions } from "node:tls";

/**
 * TLS 1.2+ only, forward-secret (ECDHE) AEAD suites only. TLS 1.3 suites are all forward
 * secret; for 1.2 we list ECDHE-ECDSA and ECDHE-RSA with AES-GCM and ChaCha20-Poly1305
 * (Mozilla "intermediate" minus the DHE suites).
 */
export const TLS_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

export function tlsServerOptions(pair: { certPem: string; keyPem: string }): TlsOptions & SecureContextOptions {
  return {
    cert: pair.certPem,
    key: pair.keyPem,
    minVersion: "TLSv1.2",
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    ecdhCurve: "X25519:P-256:P-384",
  };
}
