import {
  boxKeyPairFromPrivateKey,
  boxPrivateKey,
  constantTimeEqual,
  fingerprint,
  fromBase64Url,
  identityKeyPairFromPrivateKey,
  identityPrivateKey,
  identityPublicKey,
  verifyStatement,
  type IdentityPublicKey,
  type SignedStatement,
} from "../crypto";
import {
  INSTANCE_CERTIFICATE_DOMAIN,
  ZInstanceCertificateBodySchema,
  type TInstanceCertificate,
  type TInstanceCertificateBody,
} from "../protocol";

/** Why enrollment stopped; `code` is stable, the message says what an operator can do. */
export class EnrollmentError extends Error {
  constructor(
    readonly code:
      | "kdf_rejected"
      | "unauthenticated"
      | "not_found"
      | "console_error"
      | "bad_response"
      | "signer_mismatch"
      | "certificate_invalid"
      | "wrapped_keys_invalid"
      | "keys_mismatch"
      | "already_enrolled",
    message: string,
  ) {
    super(message);
    this.name = "EnrollmentError";
  }
}

/**
 * Verifies the instance certificate: its signer's public key hashes to the pinned fingerprint,
 * the signature verifies under Veil's one Ed25519 rule, and the body names this instance.
 * Returns the signer key and the certified body.
 */
export function verifyInstanceCertificate(
  certificate: TInstanceCertificate,
  expected: { instanceId: string; signerFingerprint: string },
): { signer: IdentityPublicKey; body: TInstanceCertificateBody } {
  let signer: IdentityPublicKey;
  try {
    signer = identityPublicKey(fromBase64Url(certificate.signerPublicKey));
  } catch {
    throw new EnrollmentError(
      "signer_mismatch",
      "the console served a certificate signer key that is not a valid Ed25519 key",
    );
  }
  if (!constantTimeEqual(fingerprint(signer), fromBase64Url(expected.signerFingerprint))) {
    throw new EnrollmentError(
      "signer_mismatch",
      "the instance certificate is not signed by the key pinned in the enrollment string",
    );
  }
  let raw: unknown;
  try {
    raw = verifyStatement(certificate.statement as SignedStatement, INSTANCE_CERTIFICATE_DOMAIN, signer);
  } catch {
    throw new EnrollmentError("certificate_invalid", "the instance certificate's signature does not verify");
  }
  const body = ZInstanceCertificateBodySchema.safeParse(raw);
  if (!body.success)
    throw new EnrollmentError("certificate_invalid", "the instance certificate's content is malformed");
  if (body.data.instanceId !== expected.instanceId) {
    throw new EnrollmentError("certificate_invalid", "the instance certificate names another instance");
  }
  return { signer, body: body.data };
}

/**
 * Checks that the unwrapped private keys are the ones the certificate certifies (a console that
 * swapped the public keys, or served another instance's keys, fails here).
 */
export function assertKeysMatchCertificate(
  body: TInstanceCertificateBody,
  identitySeed: Uint8Array,
  boxSecret: Uint8Array,
): void {
  const identity = identityKeyPairFromPrivateKey(identityPrivateKey(identitySeed));
  const box = boxKeyPairFromPrivateKey(boxPrivateKey(boxSecret));
  const ok =
    constantTimeEqual(identity.publicKey, fromBase64Url(body.identityPublicKey)) &&
    constantTimeEqual(box.publicKey, fromBase64Url(body.boxPublicKey));
  if (!ok)
    throw new EnrollmentError("keys_mismatch", "the unwrapped instance keys do not match the instance certificate");
}
