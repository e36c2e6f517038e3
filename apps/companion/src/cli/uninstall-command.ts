import { join } from "node:path";
import { acquireRotationLock, ROTATION_LOCK_FILE } from "../rotate/rotation-lock";
import { lockStateDir, RUN_LOCK_FILE } from "../run/state-dir-lock";
import { lockHolder } from "../state/lock-file";
import { StateStore } from "../state/state-store";
import { CommandError } from "./command-error";

/**
 * `veil-companion uninstall`: erases this host's enrollment (secret files overwritten, then the
 * state folder removed). The console keeps the instance until an admin revokes it; the
 * instance token is useless without a re-enrollment the admin starts.
 *
 * Refused while a `veil-companion run` uses the folder: it holds the keys in memory and keeps
 * writing its audit chain, device store and status there. The run lock is held while erasing,
 * so no `run` starts meanwhile. `folder: "left"` when the emptied folder could not be removed
 * (system mode: root's /var/lib); install.sh's uninstall removes it as root.
 */
export function uninstallCommand(stateDir: string): { removed: boolean; folder?: "removed" | "left" } {
  const store = new StateStore(stateDir);
  try {
    store.check();
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return { removed: false };
    throw error;
  }
  const lock = lockStateDir(stateDir);
  if (lock === undefined) {
    const pid = lockHolder(join(stateDir, RUN_LOCK_FILE))?.pid;
    throw new CommandError(
      "running",
      `a veil-companion run${pid === undefined ? "" : ` (pid ${pid})`} is using ${stateDir}: stop it first (systemctl stop veil-companion, or Ctrl-C in the terminal running it), then run 'veil-companion uninstall --yes' again`,
    );
  }
  try {
    // A `veil-companion rotate` holds only the rotation lock: it would write secrets anew into
    // the folder being erased.
    const rotation = acquireRotationLock(stateDir);
    if (rotation === undefined)
      throw new CommandError("running", "a token rotation is running for this state folder; try again when it ends");
    try {
      store.erase({ keep: [RUN_LOCK_FILE, ROTATION_LOCK_FILE] });
    } finally {
      rotation.release();
    }
  } finally {
    lock.release();
  }
  return { removed: true, folder: store.removeFolder() };
}
