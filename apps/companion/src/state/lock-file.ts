import { closeSync, openSync, rmSync, writeSync } from "node:fs";

/** A held lock file; `release` removes it (once). */
export interface LockFile {
  release(): void;
}

/**
 * Creates the lock file `path` with O_EXCL (0600, like every file in the state folder) holding
 * `holder` as JSON. When it exists and `isStale()` says its holder is gone, it is broken once and
 * taken; undefined when a live holder has it. (Two processes breaking the same stale lock at the
 * same instant could both win: the window is one unlink and one open.)
 */
export function acquireLockFile(path: string, holder: unknown, isStale: () => boolean): LockFile | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (attempt > 0 || !isStale()) return undefined;
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(holder));
    } catch (error) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw error;
    }
    closeSync(fd);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      },
    };
  }
  return undefined;
}

/** Whether a process with this pid exists (EPERM: it does, and belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
