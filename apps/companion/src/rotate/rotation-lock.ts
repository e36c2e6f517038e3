import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { acquireLockFile, processAlive, type LockFile } from "../state/lock-file";

/** The lock file in the state folder: present while one process rotates (or settles) the token. */
export const ROTATION_LOCK_FILE = "rotation.lock";

/**
 * A lock older than this is taken as left behind by a process that hung or whose pid was reused.
 * A rotation takes one Argon2id derivation and at most three console calls of 15 s each.
 */
export const ROTATION_LOCK_STALE_MS = 10 * 60_000;

/** Lock files this process holds: a lock naming our own pid that is not here is a dead process's. */
const heldHere = new Set<string>();

/** A held lock; `release` removes the file (idempotent). */
export type RotationLock = LockFile;

function isStale(path: string, now: number): boolean {
  let holder: { pid?: unknown; startedAt?: unknown } = {};
  let startedAt: number;
  try {
    holder = JSON.parse(readFileSync(path, "utf8")) as typeof holder;
  } catch {
    // Torn (the holder died between creating and writing it) or unreadable: judge by age alone.
  }
  try {
    startedAt = typeof holder.startedAt === "number" ? holder.startedAt : statSync(path).mtimeMs;
  } catch {
    return true; // gone meanwhile
  }
  if (now - startedAt > ROTATION_LOCK_STALE_MS) return true;
  if (typeof holder.pid !== "number" || !Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  if (holder.pid === process.pid) return !heldHere.has(path);
  return !processAlive(holder.pid);
}

/**
 * Takes the state folder's rotation lock, or returns undefined when a live process holds it. The
 * file is created with O_EXCL (mode 0600, like every file in the folder) and names its holder's
 * pid, so the daemon, a second request in the daemon and `veil-companion rotate` exclude each
 * other. A lock whose holder is gone, or older than {@link ROTATION_LOCK_STALE_MS}, is broken
 * once. Wall-clock time (the file is shared between processes). Synchronous: the caller holds it
 * before its first await.
 */
export function acquireRotationLock(dir: string): RotationLock | undefined {
  const path = join(dir, ROTATION_LOCK_FILE);
  const lock = acquireLockFile(path, { pid: process.pid, startedAt: Date.now() }, () => isStale(path, Date.now()));
  if (lock === undefined) return undefined;
  heldHere.add(path);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      lock.release();
    },
  };
}
