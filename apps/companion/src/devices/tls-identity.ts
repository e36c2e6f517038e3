/**
 * The companion's own TLS identity for the device channel: a self-signed EC P-256 certificate
 * (ECDSA-SHA-256, made by @veil/tls), made once and kept in the state folder
 * (device-channel-tls.json, 0600). Devices pin the SHA-256 of its DER, which the site key
 * carries, so no CA is involved.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { certificateFingerprint, createSelfSignedCertificate } from "@veil/tls";
import { z } from "zod";
import { checkSecretFile } from "../state/check-permissions";
import { writeSecretFile } from "../state/write-secret-file";

/** PEM key and certificate plus the SHA-256 (hex) of the certificate's DER. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  fingerprint: string;
}

const ZTlsFileSchema = z.strictObject({
  version: z.literal(1),
  keyPem: z.string().max(8192),
  certPem: z.string().max(8192),
});
/** File name in the state folder. */
export const DEVICE_TLS_FILE = "device-channel-tls.json";

/** Makes a self-signed certificate valid ten years (devices pin it; renewal = roll the site key). */
export async function makeTlsIdentity(commonName: string, now = Date.now()): Promise<TlsIdentity> {
  const made = await createSelfSignedCertificate({ commonName, validDays: 10 * 365, now });
  return { keyPem: made.keyPem, certPem: made.certPem, fingerprint: certificateFingerprint(made.certDer) };
}

/** Loads the identity from the state folder, making and saving it (0600) on first use. */
export async function loadOrCreateTlsIdentity(stateDir: string): Promise<TlsIdentity> {
  const path = join(stateDir, DEVICE_TLS_FILE);
  if (checkSecretFile(path)) {
    const parsed = ZTlsFileSchema.parse(JSON.parse(readFileSync(path, "utf8")));
    return { keyPem: parsed.keyPem, certPem: parsed.certPem, fingerprint: certificateFingerprint(parsed.certPem) };
  }
  const id = await makeTlsIdentity("veil-companion-devices");
  writeSecretFile(path, JSON.stringify({ version: 1, keyPem: id.keyPem, certPem: id.certPem }));
  return id;
}
