import { join } from "node:path";
import type { DeriveTokenKeys } from "../enroll/derive-token-keys";
import { enrollInstance, type EnrollResult } from "../enroll/enroll-instance";
import { EnrollmentError } from "../enroll/verify-certificate";
import type { Logger } from "../log";
import type { TEnrollment } from "../protocol";
import { acquireRotationLock } from "../rotate/rotation-lock";
import { lockStateDir, RUN_LOCK_FILE } from "../run/state-dir-lock";
import { lockHolder } from "../state/lock-file";
import type { TCompanionConfig } from "../state/state-schemas";
import { StateStore } from "../state/state-store";
import { createPinnedTransport, type ConsoleTransport } from "../transport/console-transport";
import { CommandError } from "./command-error";

/** Options of {@link enrollCommand}. */
export interface EnrollCommandOptions {
  stateDir: string;
  enrollment: TEnrollment;
  logger: Logger;
  transport?: ConsoleTransport;
  deriveTokenKeys?: DeriveTokenKeys;
}

/** What {@link enrollCommand} did: enrolled anew, nothing (the same string again), or re-enrolled in place. */
export interface EnrollCommandResult {
  alreadyEnrolled: boolean;
  /** The instance enrolled here was enrolled again: console URL and pin, certificate and auth key replaced. */
  reenrolled: boolean;
  instanceId: string;
}

/**
 * `veil-companion enroll`: enrolls and writes the state, or stops with a clear error and
 * writes nothing. Enrolling a different instance over an existing one is refused.
 *
 * For the instance already enrolled here: the same console URL, pin and signer is a no-op (so
 * install.sh can run twice, with no console call). Another console URL or pin (the console's
 * certificate or address changed) runs the whole enrollment again, and replaces config.json and
 * secrets.json only if the console certifies the very keys this host holds, under the same
 * signer: the instance's vault, device store and audit chain stay valid. It holds run.lock (a
 * live `run` would carry on with the old console settings, and would present the new auth key to
 * the old pin: it is refused, stop it first) and rotation.lock (no rotation interleaves).
 *
 * A first enrollment holds the same two locks and looks for a config.json again once it has them:
 * of two enrollments into one empty folder, the second waits for none and is refused (or, when
 * the first enrolled the same instance, finds it done) instead of writing over the first's state
 * after both reported success.
 */
export async function enrollCommand(options: EnrollCommandOptions): Promise<EnrollCommandResult> {
  const store = new StateStore(options.stateDir);
  store.check({ create: true });
  const existing = store.loadConfig();
  if (existing !== undefined) return enrollOver(options, store, existing);
  const runLock = lockStateDir(store.dir);
  if (runLock === undefined) {
    const pid = lockHolder(join(store.dir, RUN_LOCK_FILE))?.pid;
    throw new CommandError(
      "running",
      `another veil-companion command${pid === undefined ? "" : ` (pid ${pid})`} is using ${store.dir} (an enrollment, or a run): wait for it to end, then enroll again`,
    );
  }
  let enrolled: TCompanionConfig | undefined;
  try {
    const rotationLock = acquireRotationLock(store.dir);
    if (rotationLock === undefined)
      throw new CommandError("running", "a token rotation is running for this state folder; try again when it ends");
    try {
      // Another enrollment may have finished between the first look and the locks.
      enrolled = store.loadConfig();
      if (enrolled === undefined) {
        const result = await enrollOnce(options);
        store.saveEnrollment(result.config, result.secrets);
        options.logger.info("enrolled", { instanceId: result.config.instanceId });
        return { alreadyEnrolled: false, reenrolled: false, instanceId: result.config.instanceId };
      }
    } finally {
      rotationLock.release();
    }
  } finally {
    runLock.release();
  }
  return enrollOver(options, store, enrolled);
}

/** An enrollment string for a folder already enrolled: refused, nothing to do, or enrolled again in place. */
async function enrollOver(
  options: EnrollCommandOptions,
  store: StateStore,
  existing: TCompanionConfig,
): Promise<EnrollCommandResult> {
  const { enrollment } = options;
  if (existing.instanceId !== enrollment.instanceId) {
    throw new EnrollmentError(
      "already_enrolled",
      `this host is already enrolled as instance ${existing.instanceId}; run 'veil-companion uninstall' first`,
    );
  }
  if (existing.signerFingerprint !== enrollment.signerFingerprint) {
    throw new EnrollmentError(
      "signer_mismatch",
      `this enrollment string names another signer than the one instance ${existing.instanceId} was enrolled with; enrolling again keeps the signer (to change it: veil-companion uninstall --yes, then enroll)`,
    );
  }
  if (
    existing.consoleUrl === enrollment.consoleUrl &&
    existing.consolePin === enrollment.consolePin &&
    !store.reenrollPending()
  ) {
    options.logger.info("already enrolled for this instance: nothing to do", { instanceId: existing.instanceId });
    return { alreadyEnrolled: true, reenrolled: false, instanceId: existing.instanceId };
  }
  return reenroll(options, store, existing);
}

async function enrollOnce(options: EnrollCommandOptions): Promise<EnrollResult> {
  return enrollInstance({
    enrollment: options.enrollment,
    transport: options.transport ?? createPinnedTransport(options.enrollment.consoleUrl, options.enrollment.consolePin),
    logger: options.logger,
    deriveTokenKeys: options.deriveTokenKeys,
  });
}

async function reenroll(
  options: EnrollCommandOptions,
  store: StateStore,
  existing: TCompanionConfig,
): Promise<EnrollCommandResult> {
  const runLock = lockStateDir(store.dir);
  if (runLock === undefined) {
    const pid = lockHolder(join(store.dir, RUN_LOCK_FILE))?.pid;
    throw new CommandError(
      "running",
      `a veil-companion run${pid === undefined ? "" : ` (pid ${pid})`} is using ${store.dir}: stop it first (systemctl stop veil-companion, or Ctrl-C in the terminal running it), enroll again, then start it`,
    );
  }
  try {
    const rotationLock = acquireRotationLock(store.dir);
    if (rotationLock === undefined)
      throw new CommandError("running", "a token rotation is running for this state folder; try again when it ends");
    try {
      const result = await enrollOnce(options);
      if (
        result.config.identityPublicKey !== existing.identityPublicKey ||
        result.config.boxPublicKey !== existing.boxPublicKey
      ) {
        throw new EnrollmentError(
          "keys_mismatch",
          `the console certifies other keys for instance ${existing.instanceId} than the ones this host holds; nothing was changed`,
        );
      }
      // Config first: a cut before the secrets leaves the old auth key with the new pin, never
      // the new auth key with the old pin; the marker makes the next enroll with this string run
      // again, not take it as done, and `run` wait for it. A pending rotation's key is stale once
      // the console took this token's.
      store.markReenrolling();
      store.saveConfig(result.config);
      store.saveSecrets(result.secrets);
      store.clearPendingRotation();
      store.clearReenrolling();
      options.logger.info("enrolled again: console settings and auth key replaced", {
        instanceId: existing.instanceId,
      });
      return { alreadyEnrolled: false, reenrolled: true, instanceId: existing.instanceId };
    } finally {
      rotationLock.release();
    }
  } finally {
    runLock.release();
  }
}
