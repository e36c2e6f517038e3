/**
 * Why the vault refused a change, with a sentence the browser may show:
 * - `damaged`: vault.json could not be read at start; the vault stays out of use (and the file
 *   untouched) until someone repairs or moves it, so nothing can overwrite what may still be
 *   recovered from it;
 * - `full`: the file holds its most entries (or sealed bytes) already;
 * - `too_large`: one entry would seal to more than the file accepts for a blob.
 * Nothing was written in any case.
 */
export class VaultRefusedError extends Error {
  constructor(
    readonly reason: "damaged" | "full" | "too_large",
    readonly userMessage: string,
  ) {
    super(`vault refused: ${reason}`);
    this.name = "VaultRefusedError";
  }
}

/** The sentence for a vault file that could not be read at start. */
export const VAULT_DAMAGED_MESSAGE =
  "The vault file on the companion (vault.json in its state folder) is damaged and could not be read. " +
  "The vault is out of use until it is restored from a backup or moved away; the companion did not change it.";
