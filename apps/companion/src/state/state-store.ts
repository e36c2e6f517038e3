import { readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
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

/** The companion's state folder: permission-checked reads, atomic 0600 writes. */
export class StateStore {
  readonly paths: ReturnType<typeof statePaths>;

  constructor(readonly dir: string) {
    this.paths = statePaths(dir);
  }

  /** Checks the folder (creating it 0700 when `create`) and every file in it. */
  check(options: { create?: boolean } = {}): void {
    checkStateDir(this.dir, options);
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith(".tmp")) continue;
      checkSecretFile(join(this.dir, name));
    }
  }

  #read<S extends z.ZodType>(path: string, schema: S): z.output<S> | undefined {
    if (!checkSecretFile(path)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      throw new StatePermissionError(`${path} is not valid JSON; restore it or re-enroll`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new StatePermissionError(`${path} is not a valid companion state file; restore it or re-enroll`);
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

  /** Forgets the unconfirmed rotation (overwritten, then removed). */
  clearPendingRotation(): void {
    try {
      writeFileSync(this.paths.rotation, Buffer.alloc(statSync(this.paths.rotation).size));
    } catch {
      return;
    }
    rmSync(this.paths.rotation, { force: true });
  }

  /**
   * Deletes the state: secret files are overwritten with zeros first (best effort on
   * journaling and copy-on-write file systems), then every file and the folder are removed.
   */
  remove(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        const size = statSync(path).size;
        writeFileSync(path, Buffer.alloc(size));
      } catch {
        // removal below still runs
      }
      rmSync(path, { force: true, recursive: true });
    }
    rmdirSync(this.dir);
  }
}
