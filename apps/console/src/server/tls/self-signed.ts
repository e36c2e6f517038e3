import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { createSelfSignedCertificate } from "@veil/tls";

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

const VALID_DAYS = 825;

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
  const dnsNames = [...new Set(["localhost", hostname(), ...extraNames].filter((n) => n && !/^[\d.:]+$/.test(n)))];
  const { certPem, keyPem } = await createSelfSignedCertificate({
    commonName: "Veil console (self-signed)",
    dnsNames,
    ipAddresses: ["127.0.0.1", "::1"],
    validDays: VALID_DAYS,
    backdateMs: 60_000,
  });
  writeFileSync(keyFile, keyPem, { mode: 0o600, flag: "wx" });
  writeFileSync(certFile, certPem, { mode: 0o644, flag: "wx" });
  return { certPem, keyPem, created: true };
}
