import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ZVaultEntryMetaSchema, type TVaultEntryMeta } from "../protocol";
import { checkSecretFile } from "../state/check-permissions";
import { writeSecretFile } from "../state/write-secret-file";

/** The vault file in the state folder. */
export const VAULT_FILE = "vault.json";

const ZStoredEntry = z.strictObject({
  meta: ZVaultEntryMetaSchema,
  sealed: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .max(64_000),
});
export type StoredEntry = z.infer<typeof ZStoredEntry>;

const ZVaultFile = z.strictObject({
  version: z.literal(1),
  /** X25519 public key of the vault, base64url. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  createdAt: z.number().int().min(0),
  entries: z.array(ZStoredEntry).max(100_000),
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

  load(): VaultFile | undefined {
    if (!checkSecretFile(this.path)) return undefined;
    return ZVaultFile.parse(JSON.parse(readFileSync(this.path, "utf8")));
  }

  save(file: VaultFile): void {
    writeSecretFile(this.path, JSON.stringify(file));
  }
}

export type { TVaultEntryMeta };
