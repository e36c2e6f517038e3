import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { createServer } from "node:net";

/** A held lock on a state folder. */
export interface StateDirLock {
  release(): Promise<void>;
}

/**
 * One `veil-companion run` per state folder: two would append to one audit chain and one device
 * store and keep evicting each other's console connection. On Linux the lock is a listening
 * socket in the abstract namespace named after the folder's real path: the kernel frees it when
 * the process ends, however it ends, so nothing stale is left behind (a pid file would be, and
 * could name a reused pid after a reboot). Elsewhere (prefix mode on macOS or FreeBSD) there is
 * no abstract namespace and no lock. Undefined when another process holds it.
 */
export async function lockStateDir(stateDir: string): Promise<StateDirLock | undefined> {
  if (process.platform !== "linux") return { release: () => Promise.resolve() };
  const digest = createHash("sha256").update(realpathSync(stateDir)).digest("hex").slice(0, 32);
  const server = createServer();
  server.unref();
  const taken = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(false) : reject(error),
    );
    server.listen(`\0veil-companion/${digest}`, () => resolve(true));
  });
  if (!taken) return undefined;
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
