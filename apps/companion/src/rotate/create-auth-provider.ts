import type { Logger } from "../log";
import type { StateStore } from "../state/state-store";
import { StatePermissionError } from "../state/check-permissions";
import type { AuthProvider } from "../supervisor/supervisor";
import { acquireRotationLock } from "./rotation-lock";

/** The supervisor's auth keys, told when a connection was accepted. */
export interface RotationAwareAuth extends AuthProvider {
  /** The console accepted the key of the last attempt (call on "connected"). */
  accepted(): void;
}

/**
 * Which auth key the supervisor connects with: secrets.json's. When the console refuses it and
 * rotation.json holds the key of an unconfirmed rotation (its reply lost, a 5xx), the next
 * attempt, at once, uses that key; only once the console has accepted it is it promoted to
 * secrets.json (under the rotation lock; a running rotation settles it itself). If the console
 * refuses both, both files are kept, the error is logged, and the supervisor backs off and tries
 * the pair again.
 */
export function createAuthProvider(options: { store: StateStore; logger: Logger }): RotationAwareAuth {
  const { store, logger } = options;
  /** The pending key being tried (not yet accepted), or undefined for secrets.json's. */
  let trying: string | undefined;
  return {
    current() {
      const secrets = store.loadSecrets();
      if (secrets === undefined) throw new StatePermissionError("secrets.json is missing: re-enroll");
      // Settled meanwhile (a rotation promoted or dropped it): back to secrets.json's key.
      if (trying !== undefined && store.loadPendingRotation()?.authKey !== trying) trying = undefined;
      return trying ?? secrets.authKey;
    },
    onRejected() {
      if (trying !== undefined) {
        trying = undefined;
        logger.error(
          "the console refused the current auth key and the unconfirmed rotation's key: both are kept (revoked, or enrolled again elsewhere?)",
        );
        return false;
      }
      const pending = store.loadPendingRotation();
      if (pending === undefined) return false;
      trying = pending.authKey;
      logger.warn("auth key refused: trying the key of an unconfirmed rotation (promoted only if accepted)");
      return true;
    },
    accepted() {
      const key = trying;
      trying = undefined;
      if (key === undefined) return;
      try {
        const lock = acquireRotationLock(store.dir);
        if (lock === undefined) return; // the rotation holding it settles the pending key itself
        try {
          const secrets = store.loadSecrets();
          if (secrets === undefined || store.loadPendingRotation()?.authKey !== key) return;
          store.saveSecrets({ ...secrets, authKey: key });
          store.clearPendingRotation();
          logger.warn("the console accepted the key of an unconfirmed rotation: promoted to secrets.json");
        } finally {
          lock.release();
        }
      } catch (error) {
        logger.error("could not promote the accepted rotation key", {
          error: error instanceof Error ? error.name : "unknown",
        });
      }
    },
  };
}
