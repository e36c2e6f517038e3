import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { acquireLockFile, processAlive, type LockFile } from "../state/lock-file";

/** The lock file in the state folder: present while a `run` uses the folder. */
export const RUN_LOCK_FILE = "run.lock";

/** A held lock on a state folder. */
export type StateDirLock = LockFile;

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
  return processAlive(holder.pid);
}

/**
 * One `veil-companion run` per state folder: two would append to one audit chain and one device
 * store and keep evicting each other's console connection. The lock is `run.lock` in the 0700
 * folder (so no other user can take or fake it), created with O_EXCL, 0600, naming the holder's
 * pid and, on Linux, when that process started. A lock whose holder is gone (killed, crashed,
 * or its pid now another process's) is taken over. Undefined when a live process holds it.
 */
export function lockStateDir(stateDir: string): StateDirLock | undefined {
  const path = join(stateDir, RUN_LOCK_FILE);
  const holder = { pid: process.pid, started: startedAt(process.pid) };
  return acquireLockFile(path, holder, () => {
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      // gone meanwhile: nothing holds it
    }
    return !holderAlive(text);
  });
}
