import { join } from "node:path";
import { acquireLockFile, type LockFile } from "../state/lock-file";

/** The lock file in the state folder: present while a `run` uses the folder. */
export const RUN_LOCK_FILE = "run.lock";

/** A held lock on a state folder. */
export type StateDirLock = LockFile;

/**
 * One `veil-companion run` per state folder: two would append to one audit chain and one device
 * store and keep evicting each other's console connection. The lock is `run.lock` in the 0700
 * folder (so no other user can take or fake it), naming the holder's pid and, on Linux, when that
 * process started; a lock whose holder is gone (killed, crashed, or its pid now another
 * process's) is taken over (see {@link acquireLockFile}). Undefined when a live process holds it.
 */
export function lockStateDir(stateDir: string): StateDirLock | undefined {
  return acquireLockFile(join(stateDir, RUN_LOCK_FILE));
}
