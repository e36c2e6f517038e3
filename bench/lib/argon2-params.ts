import { argon2id } from "hash-wasm";

/** The login KDF's cost: 64 MiB, three passes, one lane (OWASP's second option). */
export const ARGON2_PARAMS = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 1, hashLength: 32 } as const;

export const password: Uint8Array = new TextEncoder().encode("correct horse battery staple");
export const salt: Uint8Array = new Uint8Array(16).fill(7);

/** One Argon2id derivation with hash-wasm, the implementation the browser runs. */
export function hashWasmArgon2id(): Promise<Uint8Array> {
  return argon2id({
    password,
    salt,
    memorySize: ARGON2_PARAMS.memoryKiB,
    iterations: ARGON2_PARAMS.iterations,
    parallelism: ARGON2_PARAMS.parallelism,
    hashLength: ARGON2_PARAMS.hashLength,
    outputType: "binary",
  });
}
