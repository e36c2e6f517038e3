import { join } from "node:path";
import { acquireLockFile, type LockFile } from "../state/lock-file";

/** The lock file in the state folder: present while one process rotates (or settles) the token. */
export const ROTATION_LOCK_FILE = "rotation.lock";

/**
 * Where a holder's start time cannot be read (no /proc), a lock older than this is taken as left
 * behind by a process whose pid was reused. A rotation takes one Argon2id derivation and at most
 * three console calls of 15 s each.
 */
export const ROTATION_LOCK_STALE_MS = 10 * 60_000;

/** A held lock; `release` removes the file (idempotent). */
export type RotationLock = LockFile;

/**
 * Takes the state folder's rotation lock, or returns undefined when a live process holds it: the
 * daemon, a second request in the daemon and `veil-companion rotate` exclude each other. A lock
 * whose holder is gone is broken once (see {@link acquireLockFile}). Synchronous: the caller holds
 * it before its first await.
 */
export function acquireRotationLock(dir: string): RotationLock | undefined {
  return acquireLockFile(join(dir, ROTATION_LOCK_FILE), { maxAgeMs: ROTATION_LOCK_STALE_MS });
}
