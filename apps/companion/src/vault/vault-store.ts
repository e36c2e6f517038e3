import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ZVaultEntryMetaSchema, type TVaultEntryMeta } from "../protocol";
import { checkSecretFile } from "../state/check-permissions";
import { writeSecretFileAsync } from "../state/write-secret-file";

/** The vault file in the state folder. */
export const VAULT_FILE = "vault.json";

/** Most base64url characters of one sealed blob the file may hold (48,000 bytes). */
export const MAX_SEALED_CHARS = 64_000;
/** Most entries the file may hold. */
export const MAX_VAULT_ENTRIES = 100_000;
/**
 * Most sealed characters all entries together may hold when writing. Loading does not check it
 * (a file that passed before still opens); writing stops here because the whole file is one
 * JSON string rewritten on every change: 100,000 blobs of 64,000 characters would pass what a
 * JavaScript string can hold, and the write would fail on every later change.
 */
export const MAX_SEALED_TOTAL_CHARS = 64 * 1024 * 1024;

const ZStoredEntry = z.strictObject({
  meta: ZVaultEntryMetaSchema,
  sealed: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .max(MAX_SEALED_CHARS),
});
export type StoredEntry = z.infer<typeof ZStoredEntry>;

const ZVaultFile = z.strictObject({
  version: z.literal(1),
  /** X25519 public key of the vault, base64url. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  createdAt: z.number().int().min(0),
  entries: z.array(ZStoredEntry).max(MAX_VAULT_ENTRIES),
});
export type VaultFile = z.infer<typeof ZVaultFile>;

/**
 * vault.json: the public key and the entries, each a sealed blob with its clear metadata
 * (which is bound into the blob as associated data). Never the private key. 0600, atomic
 * replace on every write (a crash leaves the old or the new file).
 */
export class VaultStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, VAULT_FILE);
  }

  /**
   * The file, or undefined when there is none. Throws StatePermissionError when the file is
   * unsafe (not ours, readable by others) and anything else when it cannot be read or parsed.
   */
  load(): VaultFile | undefined {
    if (!checkSecretFile(this.path)) return undefined;
    return ZVaultFile.parse(JSON.parse(readFileSync(this.path, "utf8")));
  }

  /**
   * Writes the file off the event loop. The text is made before the first await, so it is the
   * file as it is at the call, whatever changes while the write runs.
   */
  save(file: VaultFile): Promise<void> {
    return writeSecretFileAsync(this.path, this.#text(file));
  }

  /** The JSON text of each entry's metadata, made once per metadata object (a change of state makes a new one). */
  readonly #metaJson = new WeakMap<TVaultEntryMeta, string>();

  /**
   * The file as JSON, the same text JSON.stringify makes, without scanning the sealed blobs for
   * characters to escape: they are base64url (checked on load, made by toBase64Url on write),
   * which JSON writes as they are. On a 60 MB file that is the difference between stopping the
   * event loop for about 30 ms and for about 400 ms on every write.
   */
  #text(file: VaultFile): string {
    const entries = file.entries.map((e) => {
      let meta = this.#metaJson.get(e.meta);
      if (meta === undefined) {
        meta = JSON.stringify(e.meta);
        this.#metaJson.set(e.meta, meta);
      }
      return `{"meta":${meta},"sealed":"${e.sealed}"}`;
    });
    const head = `{"version":${file.version},"publicKey":${JSON.stringify(file.publicKey)},"createdAt":${file.createdAt}`;
    return `${head},"entries":[${entries.join(",")}]}`;
  }
}

export type { TVaultEntryMeta };
