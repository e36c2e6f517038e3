import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import type { z } from "zod";
import { checkSecretFile, checkStateDir, statePaths, StatePermissionError } from "./check-permissions";
import { writeSecretFile, writeSecretFileAsync } from "./write-secret-file";
import {
  ZCompanionConfigSchema,
  ZCompanionSecretsSchema,
  ZCompanionStatusSchema,
  ZPendingRotationSchema,
  type TPendingRotation,
  type TCompanionConfig,
  type TCompanionSecrets,
  type TCompanionStatus,
} from "./state-schemas";
import { ZGrantRevocationsSchema, type TGrantRevocations } from "../protocol";
import { ZBoxKeyEpochsSchema, type TBoxKeyEpochs } from "../grants/box-key-epochs";

/** A state file that is there, ours and private, but not valid JSON of its kind; the message says how to recover. */
export class StateFileCorruptError extends StatePermissionError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "StateFileCorruptError";
  }
}

/** How to recover from a corrupt state file: only advice the commands can follow (enroll refuses while config.json exists). */
function corruptAdvice(path: string): string {
  return basename(path) === "status.json"
    ? "veil-companion run rewrites it; delete it if it stays"
    : "restore it from a backup, or erase this enrollment (veil-companion uninstall --yes) and enroll again";
}

/**
 * Overwrites a regular file with zeros before it is deleted (best effort on journaling and
 * copy-on-write file systems): opened without following a symlink or blocking on a FIFO, and only
 * when the file has no other name (a hard link planted here would zero a file elsewhere).
 */
function zeroFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return; // a symlink (ELOOP), a FIFO without a reader, a folder, or gone: nothing to zero
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.nlink !== 1) return;
    const zeros = Buffer.alloc(Math.min(stat.size, 1 << 20));
    for (let off = 0; off < stat.size;) off += writeSync(fd, zeros, 0, Math.min(zeros.length, stat.size - off), off);
    fdatasyncSync(fd);
  } catch {
    // removal still runs
  } finally {
    closeSync(fd);
  }
}

/** The companion's state folder: permission-checked reads, atomic 0600 writes. */
export class StateStore {
  readonly paths: ReturnType<typeof statePaths>;

  constructor(readonly dir: string) {
    this.paths = statePaths(dir);
  }

  /**
   * Checks the folder (creating it 0700 when `create`) and every file in it, temporary ones
   * included: each must be a regular file (never a symlink), ours, 0600 or stricter. A temporary
   * file that goes while this looks (a finished atomic write, a staged lock) is no longer there
   * to judge.
   */
  check(options: { create?: boolean } = {}): void {
    checkStateDir(this.dir, options);
    for (const name of readdirSync(this.dir)) checkSecretFile(join(this.dir, name));
  }

  #read<S extends z.ZodType>(path: string, schema: S): z.output<S> | undefined {
    if (!checkSecretFile(path)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      throw new StateFileCorruptError(path, `${path} is not valid JSON: ${corruptAdvice(path)}`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new StateFileCorruptError(path, `${path} is not a valid companion state file: ${corruptAdvice(path)}`);
    return parsed.data;
  }

  /** config.json, or undefined when not enrolled. */
  loadConfig(): TCompanionConfig | undefined {
    this.check();
    return this.#read(this.paths.config, ZCompanionConfigSchema);
  }

  /** secrets.json, or undefined. */
  loadSecrets(): TCompanionSecrets | undefined {
    this.check();
    return this.#read(this.paths.secrets, ZCompanionSecretsSchema);
  }

  /** status.json, or undefined when `run` never ran. */
  loadStatus(): TCompanionStatus | undefined {
    this.check();
    return this.#read(this.paths.status, ZCompanionStatusSchema);
  }

  /** Writes secrets then config (config last: its presence marks a complete enrollment). */
  saveEnrollment(config: TCompanionConfig, secrets: TCompanionSecrets): void {
    this.check({ create: true });
    writeSecretFile(this.paths.secrets, JSON.stringify(ZCompanionSecretsSchema.parse(secrets)));
    writeSecretFile(this.paths.config, JSON.stringify(ZCompanionConfigSchema.parse(config)));
  }

  /** Replaces secrets.json (token rotation). */
  saveSecrets(secrets: TCompanionSecrets): void {
    this.check();
    writeSecretFile(this.paths.secrets, JSON.stringify(ZCompanionSecretsSchema.parse(secrets)));
  }

  /** Replaces config.json. */
  saveConfig(config: TCompanionConfig): void {
    this.check();
    writeSecretFile(this.paths.config, JSON.stringify(ZCompanionConfigSchema.parse(config)));
  }

  /** Replaces status.json. */
  saveStatus(status: TCompanionStatus): void {
    writeSecretFile(this.paths.status, JSON.stringify(ZCompanionStatusSchema.parse(status)));
  }

  /** revocations.json (account id → grants issued at or before are refused); empty when absent. */
  loadRevocations(): TGrantRevocations {
    return this.#read(this.paths.revocations, ZGrantRevocationsSchema) ?? {};
  }

  /** Replaces revocations.json (atomically, 0600). */
  saveRevocations(revocations: TGrantRevocations): void {
    this.check();
    writeSecretFile(this.paths.revocations, JSON.stringify(ZGrantRevocationsSchema.parse(revocations)));
  }

  /** box-key-epochs.json (account and identity key → lowest box-key certificate epoch accepted), or undefined. */
  loadBoxKeyEpochs(): TBoxKeyEpochs | undefined {
    return this.#read(this.paths.boxKeyEpochs, ZBoxKeyEpochsSchema);
  }

  /** Replaces box-key-epochs.json (atomically, 0600), off the event loop. */
  saveBoxKeyEpochs(epochs: TBoxKeyEpochs): Promise<void> {
    return writeSecretFileAsync(this.paths.boxKeyEpochs, JSON.stringify(ZBoxKeyEpochsSchema.parse(epochs)));
  }

  /** rotation.json, or undefined. */
  loadPendingRotation(): TPendingRotation | undefined {
    return this.#read(this.paths.rotation, ZPendingRotationSchema);
  }

  /** Records an unconfirmed rotation's auth key. */
  savePendingRotation(pending: TPendingRotation): void {
    this.check();
    writeSecretFile(this.paths.rotation, JSON.stringify(ZPendingRotationSchema.parse(pending)));
  }

  /**
   * `reenroll.pending`: present while an enrollment again (a new console pin or address) replaces
   * config.json and secrets.json, so one cut between the two is seen: the enrollment is run again,
   * and `run` refuses meanwhile.
   */
  reenrollPending(): boolean {
    return lstatSync(this.paths.reenroll, { throwIfNoEntry: false }) !== undefined;
  }

  /** Marks an enrollment again as started (see {@link reenrollPending}). */
  markReenrolling(): void {
    this.check();
    writeSecretFile(this.paths.reenroll, "");
  }

  /** Marks the enrollment again as finished. */
  clearReenrolling(): void {
    rmSync(this.paths.reenroll, { force: true });
  }

  /** Forgets the unconfirmed rotation (overwritten, then removed; a symlink is removed, never followed). */
  clearPendingRotation(): void {
    if (lstatSync(this.paths.rotation, { throwIfNoEntry: false }) === undefined) return;
    zeroFile(this.paths.rotation);
    rmSync(this.paths.rotation, { force: true });
  }

  /**
   * Erases every file of the state folder but those named in `keep`: regular files are
   * overwritten with zeros first (see zeroFile); a symlink is removed, never followed.
   */
  erase(options: { keep?: readonly string[] } = {}): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (options.keep?.includes(name) === true) continue;
      const path = join(this.dir, name);
      if (lstatSync(path, { throwIfNoEntry: false })?.isFile() === true) zeroFile(path);
      rmSync(path, { force: true, recursive: true });
    }
  }

  /**
   * Removes the (erased) state folder. "left" when its parent does not let this user remove it:
   * system mode's /var/lib/veil-companion belongs to the service user inside root's /var/lib, so
   * the empty folder stays for root (install.sh uninstall) to remove.
   */
  removeFolder(): "removed" | "left" {
    try {
      rmdirSync(this.dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return "removed";
      if (code === "EACCES" || code === "EPERM") return "left";
      throw error;
    }
    return "removed";
  }

  /** Deletes the state: {@link erase}, then {@link removeFolder}. */
  remove(): "removed" | "left" {
    this.erase();
    return this.removeFolder();
  }
}
