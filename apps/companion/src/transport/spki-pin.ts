import { timingSafeEqual, type X509Certificate } from "node:crypto";
import { spkiPin } from "@veil/tls";
import { ZSpkiPinSchema } from "../protocol";

/**
 * The console certificate pin: SHA-256 over the DER SubjectPublicKeyInfo of the certificate the
 * console presents, written `sha256//<base64>` exactly like curl's `--pinnedpubkey`, so the
 * install line and the companion check the same thing. Pinning the key (not the certificate)
 * survives renewals that keep the key.
 */
export function spkiPinOfCertificate(cert: X509Certificate): string {
  return spkiPin(cert);
}

/** The pin of a PEM certificate (for the console's own display and for tests). */
export function spkiPinOfPem(pem: string | Buffer): string {
  return spkiPin(pem);
}

/** Constant-time comparison of two pins; false for anything malformed. */
export function pinsEqual(a: string, b: string): boolean {
  if (!ZSpkiPinSchema.safeParse(a).success || !ZSpkiPinSchema.safeParse(b).success) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Thrown when the console presents a certificate whose key is not the pinned one. */
export class PinMismatchError extends Error {
  readonly code = "pin_mismatch";
  constructor(readonly presented: string) {
    super("the console's TLS certificate does not match the pinned key: refusing to talk to it");
    this.name = "PinMismatchError";
  }
}
