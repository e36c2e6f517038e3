import { lstatSync, mkdirSync, readFileSync, type Stats } from "node:fs";
import { join } from "node:path";

/** Thrown when the state folder or a secret file is missing, unsafe or not ours; the message says how to fix it. */
export class StatePermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StatePermissionError";
  }
}

function shellQuote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

function ownUid(): number | undefined {
  return typeof process.getuid === "function" ? process.getuid() : undefined;
}

/** The name of the user with this uid in /etc/passwd, or undefined when there is none. */
export function userNameOf(uid: number, passwdFile = "/etc/passwd"): string | undefined {
  let text: string;
  try {
    text = readFileSync(passwdFile, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [name, , id] = line.split(":");
    if (name !== undefined && name !== "" && id !== undefined && /^\d+$/.test(id) && Number(id) === uid) return name;
  }
  return undefined;
}

/**
 * What to tell a caller (uid `callerUid`) about `path`, owned by `ownerUid`. When the owner is a
 * user of this host (system mode's service user), the fix is to run the command as that user,
 * never to take the folder from it; only an owner that is no user here (files restored from
 * another host) is worth a chown to the caller.
 */
export function ownerMismatchMessage(
  path: string,
  ownerUid: number,
  callerUid: number,
  userName: (uid: number) => string | undefined = userNameOf,
): string {
  const owner = userName(ownerUid);
  if (owner !== undefined) {
    return `${path} is owned by the user ${owner} (uid ${ownerUid}), not by you (uid ${callerUid}). Run the command as ${owner}: sudo veil-companion … (as root, the installed command switches to its service user), or sudo -u ${owner} veil-companion …`;
  }
  return `${path} is owned by uid ${ownerUid}, which is no user of this host, not by you (uid ${callerUid}). If these files are yours (restored from another host), take them with: chown ${callerUid} ${shellQuote(path)}`;
}

function checkOwner(stats: Stats, path: string): void {
  const uid = ownUid();
  if (uid !== undefined && stats.uid !== uid)
    throw new StatePermissionError(ownerMismatchMessage(path, stats.uid, uid));
}

/**
 * Checks (and with `create`, makes) the state folder: a real directory (not a symlink), owned by
 * this user, mode 0700 or stricter. Refuses anything looser with the exact chmod to run.
 */
export function checkStateDir(dir: string, options: { create?: boolean } = {}): void {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || options.create !== true) {
      throw new StatePermissionError(
        `state folder ${dir} does not exist. Enroll first (veil-companion enroll), or set VEIL_STATE_DIR.`,
      );
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    stats = lstatSync(dir);
  }
  if (!stats.isDirectory()) throw new StatePermissionError(`${dir} must be a directory (not a symlink or file)`);
  checkOwner(stats, dir);
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, "0");
    throw new StatePermissionError(
      `state folder ${dir} has mode ${mode}; it must not be accessible to group or others. Fix it with: chmod 700 ${shellQuote(dir)}`,
    );
  }
}

/**
 * Checks one secret file: a regular file (not a symlink), owned by this user, mode 0600 or
 * stricter. Returns false when it does not exist.
 */
export function checkSecretFile(path: string): boolean {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  if (!stats.isFile()) throw new StatePermissionError(`${path} must be a regular file (not a symlink)`);
  checkOwner(stats, path);
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, "0");
    throw new StatePermissionError(
      `${path} has mode ${mode}; secret files must be readable by their owner only. Fix it with: chmod 600 ${shellQuote(path)}`,
    );
  }
  return true;
}

/** Names of the files in the state folder. */
export const STATE_FILES = {
  config: "config.json",
  secrets: "secrets.json",
  status: "status.json",
  rotation: "rotation.json",
  revocations: "revocations.json",
  boxKeyEpochs: "box-key-epochs.json",
  reenroll: "reenroll.pending",
} as const;

/** Full paths of the state files. */
export function statePaths(dir: string): {
  dir: string;
  config: string;
  secrets: string;
  status: string;
  rotation: string;
  revocations: string;
  boxKeyEpochs: string;
  reenroll: string;
} {
  return {
    dir,
    config: join(dir, STATE_FILES.config),
    secrets: join(dir, STATE_FILES.secrets),
    status: join(dir, STATE_FILES.status),
    rotation: join(dir, STATE_FILES.rotation),
    revocations: join(dir, STATE_FILES.revocations),
    boxKeyEpochs: join(dir, STATE_FILES.boxKeyEpochs),
    reenroll: join(dir, STATE_FILES.reenroll),
  };
}
