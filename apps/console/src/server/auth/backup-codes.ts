import { randomBytes } from "node:crypto";
import { argon2id, argon2Verify } from "hash-wasm";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const BACKUP_CODE_COUNT = 10;

/**
 * Argon2id for backup codes. The codes carry 60 random bits, so the OWASP minimum
 * (19 MiB, t = 2, p = 1) already puts offline guessing far out of reach while keeping ten
 * verifications per redemption fast on a small server.
 */
const PARAMS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

/** Twelve base32 characters (60 bits), shown as XXXX-XXXX-XXXX. */
export function newBackupCode(): string {
  const bytes = randomBytes(12);
  let s = "";
  for (const b of bytes) s += ALPHABET[b & 31];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}`;
}

/** The normalised form that is hashed: upper case, no dashes. */
export function normaliseBackupCode(code: string): string {
  return code.trim().toUpperCase().replaceAll("-", "");
}

export function hashBackupCode(code: string): Promise<string> {
  return argon2id({ ...PARAMS, password: normaliseBackupCode(code), salt: randomBytes(16), outputType: "encoded" });
}

export function verifyBackupCode(code: string, encoded: string): Promise<boolean> {
  return argon2Verify({ password: normaliseBackupCode(code), hash: encoded });
}
