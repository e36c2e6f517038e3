import type { DeriveTokenKeys } from "../enroll/derive-token-keys";
import {
  deriveInstanceTokenKeys,
  fromBase64Url,
  generateKdfParams,
  generateToken,
  hashAuthKey,
  toBase64Url,
  wipe,
  wrapKey,
  WRAP_PURPOSES,
} from "../crypto";
import { COMPANION_API_PREFIX, encodeEnrollment, ZRotateResponseSchema, type TRotateRequest } from "../protocol";
import type { Logger } from "../log";
import type { StateStore } from "../state/state-store";
import type { ConsoleTransport } from "../transport/console-transport";

/** Why a rotation failed; `outcome` says whether the console may have taken the new token. */
export class RotationError extends Error {
  constructor(
    message: string,
    readonly outcome: "refused" | "unknown",
  ) {
    super(message);
    this.name = "RotationError";
  }
}

/** Options of {@link rotateToken}. */
export interface RotateOptions {
  store: StateStore;
  transport: ConsoleTransport;
  logger: Logger;
  now?: () => number;
  deriveTokenKeys?: DeriveTokenKeys;
}

/**
 * The companion half of token rotation: a fresh 256-bit token and Argon2id salt (default
 * params), the instance private keys re-wrapped under the new wrap key (AAD: instance id and
 * purpose), and one console call, authenticated with the current auth key, that replaces the
 * KDF params, auth-key hash and wrapped keys atomically. The new auth key is recorded in
 * rotation.json before the call and promoted to secrets.json after it, so a lost reply cannot
 * lock the companion out. Returns the new enrollment string (for the admin's browser, end to
 * end); the token itself is not kept on this host.
 */
export async function rotateToken(options: RotateOptions): Promise<string> {
  const { store, transport, logger } = options;
  const now = options.now ?? Date.now;
  const derive = options.deriveTokenKeys ?? deriveInstanceTokenKeys;
  const config = store.loadConfig();
  const secrets = store.loadSecrets();
  if (config === undefined || secrets === undefined) throw new RotationError("not enrolled", "refused");
  const token = generateToken();
  const params = generateKdfParams();
  const keys = await derive(token, params, config.instanceId);
  const identity = fromBase64Url(secrets.identityPrivateKey);
  const box = fromBase64Url(secrets.boxPrivateKey);
  try {
    const ownerId = config.instanceId;
    const body: TRotateRequest = {
      authKey: secrets.authKey,
      next: {
        kdf: {
          alg: "argon2id",
          memoryKiB: params.memoryKiB,
          iterations: params.iterations,
          parallelism: params.parallelism,
          salt: toBase64Url(params.salt),
        },
        authKeyHash: toBase64Url(hashAuthKey(keys.authKey)),
        wrappedIdentityPrivateKey: toBase64Url(
          wrapKey(keys.wrapKey, identity, {
            ownerId,
            purpose: WRAP_PURPOSES.identityPrivateKey,
            publicKey: fromBase64Url(config.identityPublicKey),
          }),
        ),
        wrappedBoxPrivateKey: toBase64Url(
          wrapKey(keys.wrapKey, box, {
            ownerId,
            purpose: WRAP_PURPOSES.boxPrivateKey,
            publicKey: fromBase64Url(config.boxPublicKey),
          }),
        ),
      },
    };
    const newAuthKey = toBase64Url(keys.authKey);
    store.savePendingRotation({ version: 1, authKey: newAuthKey, startedAt: now() });
    let status: number;
    let responseBody: unknown;
    try {
      ({ status, body: responseBody } = await transport.requestJson(
        "POST",
        `${COMPANION_API_PREFIX}/instances/${encodeURIComponent(ownerId)}/rotate`,
        body,
      ));
    } catch {
      logger.error("token rotation: console unreachable, outcome unknown", { instanceId: ownerId });
      throw new RotationError("the console could not be reached; the rotation may or may not have happened", "unknown");
    }
    if (status !== 200 || !ZRotateResponseSchema.safeParse(responseBody).success) {
      store.clearPendingRotation();
      logger.warn("token rotation refused by the console", { instanceId: ownerId, status });
      throw new RotationError(`the console refused the rotation (HTTP ${status})`, "refused");
    }
    store.saveSecrets({ ...secrets, authKey: newAuthKey });
    store.saveConfig({ ...config, rotatedAt: now() });
    store.clearPendingRotation();
    logger.info("token rotated", { instanceId: ownerId });
    return encodeEnrollment({
      consoleUrl: config.consoleUrl,
      instanceId: ownerId,
      token,
      signerFingerprint: config.signerFingerprint,
      consolePin: config.consolePin,
    });
  } finally {
    wipe(keys.authKey, keys.wrapKey, identity, box);
  }
}
