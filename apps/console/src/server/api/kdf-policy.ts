import { VeilError, type TKdfParams } from "@veil/protocol";

/**
 * The same floor and ceiling as @veil/crypto's KDF_FLOOR / KDF_CEILING. The browser refuses
 * weaker params before deriving; the server refuses to store them, so an account can never be
 * created or re-keyed below the floor.
 */
export const KDF_FLOOR = { memoryKiB: 65_536, iterations: 3, parallelism: 1 } as const;
export const KDF_CEILING = { memoryKiB: 1_048_576, iterations: 10, parallelism: 4 } as const;
export const DEFAULT_KDF = KDF_FLOOR;

export function assertKdfAcceptable(p: TKdfParams): void {
  const ok =
    p.memoryKiB >= KDF_FLOOR.memoryKiB &&
    p.memoryKiB <= KDF_CEILING.memoryKiB &&
    p.iterations >= KDF_FLOOR.iterations &&
    p.iterations <= KDF_CEILING.iterations &&
    p.parallelism >= KDF_FLOOR.parallelism &&
    p.parallelism <= KDF_CEILING.parallelism;
  if (!ok) throw new VeilError("kdf_params_rejected");
}
