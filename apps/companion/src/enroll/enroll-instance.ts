import type { DeriveTokenKeys } from "./derive-token-keys";
import {
  PROTOCOL_VERSION,
  ZEnrollResponseSchema,
  ZInstanceKdfResponseSchema,
  COMPANION_API_PREFIX,
  type TEnrollment,
} from "../protocol";
import {
  DecryptError,
  deriveInstanceTokenKeys,
  fromBase64Url,
  kdfParams,
  toBase64Url,
  unwrapKey,
  wipe,
  WRAP_PURPOSES,
  type KdfParams,
} from "../crypto";
import type { Logger } from "../log";
import type { TCompanionConfig, TCompanionSecrets } from "../state/state-schemas";
import type { ConsoleTransport } from "../transport/console-transport";
import { COMPANION_VERSION } from "../version";
import { assertKeysMatchCertificate, EnrollmentError, verifyInstanceCertificate } from "./verify-certificate";

/** Options of {@link enrollInstance}: the transport (pinned), the KDF and a clock come in from outside. */
export interface EnrollOptions {
  enrollment: TEnrollment;
  transport: ConsoleTransport;
  logger: Logger;
  now?: () => number;
  /** The token KDF; @veil/crypto's (floor enforced) by default. Tests pass a memoised wrapper around it. */
  deriveTokenKeys?: DeriveTokenKeys;
}

/** The state an enrollment produced, ready to be written. */
export interface EnrollResult {
  config: TCompanionConfig;
  secrets: TCompanionSecrets;
}

function instancePath(instanceId: string, leaf: string): string {
  return `${COMPANION_API_PREFIX}/instances/${encodeURIComponent(instanceId)}/${leaf}`;
}

function consoleFailure(status: number): EnrollmentError {
  if (status === 401 || status === 403)
    return new EnrollmentError(
      "unauthenticated",
      "the console refused the token: it is wrong, already rotated, or the instance was revoked",
    );
  if (status === 404) return new EnrollmentError("not_found", "the console does not know this instance");
  return new EnrollmentError("console_error", `the console answered HTTP ${status}`);
}

/**
 * Enrolls: fetches the token's KDF params and refuses any below the floor BEFORE deriving;
 * derives the auth and wrap keys; authenticates with the auth key; downloads the wrapped
 * private keys and the instance certificate; verifies the certificate against the pinned signer
 * and that it certifies exactly the unwrapped keys. Returns the state to write; writes nothing,
 * so any failure leaves the host untouched.
 */
export async function enrollInstance(options: EnrollOptions): Promise<EnrollResult> {
  const { enrollment, transport, logger } = options;
  const now = options.now ?? Date.now;
  const derive = options.deriveTokenKeys ?? deriveInstanceTokenKeys;
  const instanceId = enrollment.instanceId;

  const kdfRes = await transport.requestJson("GET", instancePath(instanceId, "kdf"));
  if (kdfRes.status !== 200) throw consoleFailure(kdfRes.status);
  const kdfBody = ZInstanceKdfResponseSchema.safeParse(kdfRes.body);
  if (!kdfBody.success) throw new EnrollmentError("bad_response", "the console's KDF answer is malformed");
  let params: KdfParams;
  try {
    const k = kdfBody.data.kdf;
    params = kdfParams({
      memoryKiB: k.memoryKiB,
      iterations: k.iterations,
      parallelism: k.parallelism,
      salt: fromBase64Url(k.salt),
    });
  } catch (error) {
    throw new EnrollmentError(
      "kdf_rejected",
      `the console served key-derivation parameters outside the allowed range (${(error as Error).message}); refusing to derive or send anything`,
    );
  }
  logger.info("deriving token keys", { instanceId, memoryKiB: params.memoryKiB, iterations: params.iterations });
  const keys = await derive(enrollment.token, params, instanceId);
  let identitySeed: Uint8Array | undefined;
  let boxSecret: Uint8Array | undefined;
  try {
    const res = await transport.requestJson("POST", instancePath(instanceId, "enroll"), {
      authKey: toBase64Url(keys.authKey),
      protocolVersion: PROTOCOL_VERSION,
      companionVersion: COMPANION_VERSION,
    });
    if (res.status !== 200) throw consoleFailure(res.status);
    const body = ZEnrollResponseSchema.safeParse(res.body);
    if (!body.success) throw new EnrollmentError("bad_response", "the console's enrollment answer is malformed");
    const cert = verifyInstanceCertificate(body.data.certificate, {
      instanceId,
      signerFingerprint: enrollment.signerFingerprint,
    });
    try {
      // AAD binds instance id, purpose and the certified public key: a pairing swapped by the console fails here.
      identitySeed = unwrapKey(keys.wrapKey, fromBase64Url(body.data.wrappedIdentityPrivateKey), {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.identityPrivateKey,
        publicKey: fromBase64Url(cert.body.identityPublicKey),
      });
      boxSecret = unwrapKey(keys.wrapKey, fromBase64Url(body.data.wrappedBoxPrivateKey), {
        ownerId: instanceId,
        purpose: WRAP_PURPOSES.boxPrivateKey,
        publicKey: fromBase64Url(cert.body.boxPublicKey),
      });
    } catch (error) {
      if (error instanceof DecryptError || error instanceof RangeError) {
        throw new EnrollmentError(
          "wrapped_keys_invalid",
          "the wrapped instance keys do not open with this token for this instance",
        );
      }
      throw error;
    }
    if (identitySeed.length !== 32 || boxSecret.length !== 32)
      throw new EnrollmentError("wrapped_keys_invalid", "the wrapped instance keys have the wrong length");
    assertKeysMatchCertificate(cert.body, identitySeed, boxSecret);
    logger.info("enrollment verified", { instanceId });
    return {
      config: {
        version: 1,
        consoleUrl: enrollment.consoleUrl,
        consolePin: enrollment.consolePin,
        instanceId,
        instanceName: cert.body.name,
        signerFingerprint: enrollment.signerFingerprint,
        signerPublicKey: toBase64Url(cert.signer),
        certificate: body.data.certificate,
        identityPublicKey: cert.body.identityPublicKey,
        boxPublicKey: cert.body.boxPublicKey,
        enrolledAt: now(),
      },
      secrets: {
        version: 1,
        authKey: toBase64Url(keys.authKey),
        identityPrivateKey: toBase64Url(identitySeed),
        boxPrivateKey: toBase64Url(boxSecret),
      },
    };
  } finally {
    wipe(keys.authKey, keys.wrapKey, identitySeed, boxSecret);
  }
}
