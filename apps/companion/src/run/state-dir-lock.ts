import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

/** The lock file in the state folder: present while a `run` uses the folder. */
export const RUN_LOCK_FILE = "run.lock";

/** A held lock on a state folder. */
export interface StateDirLock {
  release(): void;
}

const ZHolderSchema = z.strictObject({ pid: z.number().int().positive(), started: z.string().max(32).nullable() });

/**
 * When `pid` started (Linux: field 22 of /proc/PID/stat, clock ticks since boot), or null where
 * there is no /proc or the process is not there: tells the holder from a process that reused its
 * pid after a crash or a reboot.
 */
function startedAt(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function holderAlive(text: string): boolean {
  let holder: z.infer<typeof ZHolderSchema>;
  try {
    holder = ZHolderSchema.parse(JSON.parse(text));
  } catch {
    return false; // torn (its writer died between creating and writing it) or not ours
  }
  if (process.platform === "linux") return holder.started !== null && startedAt(holder.pid) === holder.started;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One `veil-companion run` per state folder: two would append to one audit chain and one device
 * store and keep evicting each other's console connection. The lock is `run.lock` in the 0700
 * folder (so no other user can take or fake it), created with O_EXCL, 0600, naming the holder's
 * pid and, on Linux, when that process started. A lock whose holder is gone (killed, crashed,
 * or its pid now another process's) is taken over. Undefined when a live process holds it.
 * (Two processes taking over the same dead holder's lock at the same instant could both win;
 * systemd starts one.)
 */
export function lockStateDir(stateDir: string): StateDirLock | undefined {
  const path = join(stateDir, RUN_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let text = "";
      try {
        text = readFileSync(path, "utf8");
      } catch {
        // gone meanwhile: try again
      }
      if (attempt > 0 || holderAlive(text)) return undefined;
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, started: startedAt(process.pid) }));
    } finally {
      closeSync(fd);
    }
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
