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
import type { TCompanionConfig, TCompanionSecrets } from "../state/state-schemas";
import type { ConsoleTransport } from "../transport/console-transport";
import { consoleRefusal } from "./console-refusal";
import { RotationError } from "./rotation-error";
import { acquireRotationLock } from "./rotation-lock";
import { settlePendingRotation } from "./settle-pending-rotation";

export { RotationError, type RotationOutcome } from "./rotation-error";

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
 * KDF params, auth-key hash and wrapped keys atomically. Returns the new enrollment string (for
 * the admin's browser, end to end); the token itself is not kept on this host.
 *
 * One rotation at a time per state folder (rotation.lock; a second one fails `busy`). The new
 * auth key is recorded in rotation.json before the call and stays there until the console's
 * answer settles it: a 200 promotes it to secrets.json, the console's own 4xx (nothing changed)
 * drops it, and anything else (no answer, a 5xx, a malformed 200) keeps it beside the current
 * key, so a lost or lying reply cannot lock the companion out. A record left by an earlier
 * rotation is settled first (settle-pending-rotation.ts), never overwritten.
 */
export async function rotateToken(options: RotateOptions): Promise<string> {
  const { store } = options;
  const now = options.now ?? Date.now;
  if (store.loadConfig() === undefined || store.loadSecrets() === undefined)
    throw new RotationError("not enrolled", "refused");
  const lock = acquireRotationLock(store.dir);
  if (lock === undefined)
    throw new RotationError("another token rotation is running for this state folder; try again when it ends", "busy");
  try {
    // Read again under the lock: a rotation that just ended may have changed both.
    const config = store.loadConfig();
    let secrets = store.loadSecrets();
    if (config === undefined || secrets === undefined) throw new RotationError("not enrolled", "refused");
    // An enrollment again that was cut: its string must enroll once more, which a new token
    // would make impossible.
    if (store.reenrollPending())
      throw new RotationError(
        "an enrollment again did not finish: run 'veil-companion enroll' with the same string again first",
        "refused",
      );
    const earlier = store.loadPendingRotation();
    if (earlier !== undefined)
      secrets = await settlePendingRotation({
        ...options,
        instanceId: config.instanceId,
        secrets,
        pending: earlier,
        now,
      });
    return await rotateWith(options, config, secrets, now);
  } finally {
    lock.release();
  }
}

async function rotateWith(
  options: RotateOptions,
  config: TCompanionConfig,
  secrets: TCompanionSecrets,
  now: () => number,
): Promise<string> {
  const { store, transport, logger } = options;
  const derive = options.deriveTokenKeys ?? deriveInstanceTokenKeys;
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
      logger.error("token rotation: console unreachable, outcome unknown; the new key stays pending", {
        instanceId: ownerId,
      });
      throw new RotationError("the console could not be reached; the rotation may or may not have happened", "unknown");
    }
    if (status !== 200) {
      const refusal = consoleRefusal({ status, body: responseBody });
      if (refusal !== undefined) {
        store.clearPendingRotation();
        logger.warn("token rotation refused by the console", { instanceId: ownerId, status, code: refusal });
        throw new RotationError(`the console refused the rotation (HTTP ${status}, ${refusal})`, "refused");
      }
      logger.error("token rotation: the console failed, outcome unknown; the new key stays pending", {
        instanceId: ownerId,
        status,
      });
      throw new RotationError(
        `the console failed (HTTP ${status}); the rotation may or may not have happened`,
        "unknown",
      );
    }
    if (!ZRotateResponseSchema.safeParse(responseBody).success) {
      logger.error("token rotation: malformed answer, outcome unknown; the new key stays pending", {
        instanceId: ownerId,
      });
      throw new RotationError(
        "the console's answer is malformed; the rotation may or may not have happened",
        "unknown",
      );
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
