import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { z } from "zod";

/** A held lock file; `release` removes it (once, and only while the file is still this lock's). */
export interface LockFile {
  release(): void;
}

/** What a lock file names: the holder's pid and, on Linux, when that process started. */
const ZHolderSchema = z.strictObject({ pid: z.number().int().positive(), started: z.string().max(32).nullable() });
type Holder = z.infer<typeof ZHolderSchema>;

/** A holder's file is a few dozen bytes; more is not one of ours. */
const MAX_LOCK_BYTES = 256;

/** Lock files this process holds, by device and inode. */
const heldHere = new Set<string>();

const identity = (stat: { dev: number; ino: number }): string => `${stat.dev}:${stat.ino}`;

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

/** Whether a process with this pid exists (EPERM: it does, and belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The lock file at `path` as it is now: its identity and its holder, or `holder: undefined` when
 * it is not a lock of ours (a symlink, a FIFO, too long, not our JSON). Undefined when it is gone.
 * Opened without following a symlink and without blocking, and read through that descriptor, so
 * the holder read is the holder of the file judged.
 */
function inspect(path: string): { id: string; mtimeMs: number; holder: Holder | undefined } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code !== "ELOOP") throw error;
    const link = lstatSync(path, { throwIfNoEntry: false });
    return link && { id: identity(link), mtimeMs: link.mtimeMs, holder: undefined };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_LOCK_BYTES)
      return { id: identity(stat), mtimeMs: stat.mtimeMs, holder: undefined };
    const buffer = Buffer.alloc(MAX_LOCK_BYTES);
    const length = readSync(fd, buffer, 0, MAX_LOCK_BYTES, 0);
    let holder: Holder | undefined;
    try {
      holder = ZHolderSchema.parse(JSON.parse(buffer.toString("utf8", 0, length)));
    } catch {
      holder = undefined;
    }
    return { id: identity(stat), mtimeMs: stat.mtimeMs, holder };
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the holder a lock names is still there: this process only while it holds that very
 * file; on Linux, a process with that pid that started when the holder did; elsewhere (or when
 * the holder could not read its start time), a process with that pid, for at most `maxAgeMs` of
 * the file's age when that is given.
 */
function holderAlive(lock: { id: string; mtimeMs: number; holder: Holder | undefined }, maxAgeMs?: number): boolean {
  const { holder } = lock;
  if (holder === undefined) return false;
  if (holder.pid === process.pid) return heldHere.has(lock.id);
  if (holder.started !== null) return startedAt(holder.pid) === holder.started;
  if (maxAgeMs !== undefined && Date.now() - lock.mtimeMs > maxAgeMs) return false;
  return processAlive(holder.pid);
}

/**
 * Who holds the lock file at `path`, for a reader that does not take it (`status`, `uninstall`):
 * the pid it names and whether that holder is alive, judged as {@link acquireLockFile} judges it
 * (pid and start time on Linux). Undefined when there is no lock file or it names no holder.
 */
export function lockHolder(
  path: string,
  options: { maxAgeMs?: number } = {},
): { pid: number; alive: boolean } | undefined {
  const current = inspect(path);
  if (current?.holder === undefined) return undefined;
  return { pid: current.holder.pid, alive: holderAlive(current, options.maxAgeMs) };
}

/**
 * Moves the lock at `path` out of the way if it is still the file judged (`id`); true when the
 * name is free for a new lock. A file that replaced it meanwhile (another process broke the same
 * stale lock and took it) is put back, and that process keeps it.
 */
function breakLock(path: string, id: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw error;
  }
  const moved = lstatSync(aside, { throwIfNoEntry: false });
  if (moved === undefined || identity(moved) === id) {
    rmSync(aside, { force: true });
    return true;
  }
  try {
    linkSync(aside, path);
  } catch {
    // A third process took the name meanwhile: it holds the lock.
  }
  rmSync(aside, { force: true });
  return false;
}

/**
 * Takes the lock file `path` (0600, like every file in the state folder), naming this process and
 * when it started; undefined when a live holder has it. The file is written whole under another
 * name and then hard-linked to `path`, which fails when `path` exists: the lock is never seen
 * half-written, so an unreadable one is a leftover, not a holder still writing. A lock whose holder
 * is gone (killed, crashed, its pid now another process's; or, with `maxAgeMs`, older than that
 * where start times are unknown) is broken once and taken, by its inode: of two processes breaking
 * the same stale lock, one wins. (Left open: three at once, where the slowest breaker moves the
 * winner's fresh lock aside for the instant a third takes the name, can still make two holders.)
 */
export function acquireLockFile(path: string, options: { maxAgeMs?: number } = {}): LockFile | undefined {
  const holder: Holder = { pid: process.pid, started: startedAt(process.pid) };
  const staged = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(staged, "wx", 0o600);
  let id: string;
  try {
    writeFileSync(fd, JSON.stringify(holder));
    id = identity(fstatSync(fd));
  } catch (error) {
    closeSync(fd);
    rmSync(staged, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(staged, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        if (attempt > 0) return undefined;
        const current = inspect(path);
        if (current !== undefined && (holderAlive(current, options.maxAgeMs) || !breakLock(path, current.id)))
          return undefined;
        continue;
      }
      heldHere.add(id);
      return heldLock(path, id);
    }
    return undefined;
  } finally {
    rmSync(staged, { force: true });
  }
}

function heldLock(path: string, id: string): LockFile {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(id);
      // Only the file this lock made: one that replaced it is another holder's.
      const now = lstatSync(path, { throwIfNoEntry: false });
      if (now !== undefined && identity(now) === id) rmSync(path, { force: true });
    },
  };
}
