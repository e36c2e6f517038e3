/**
 * The optional recovery kit: a printable random code that wraps the same private keys a second
 * time (its own Argon2id salt, HKDF labels "veil/v1/recovery-code/*", same AAD as the password
 * wrap). With neither the password nor the kit the keys cannot be recovered, by design.
 */
import { generateSalt, randomBytes, toBase64Url, wipe } from "@veil/crypto";
import type { TAccountKeys, TRecoveryKit } from "@veil/protocol";
import { unwrapAccountKeys, wrapAccountKeys, type AccountKeyPairs } from "./account-keys";
import { deriveInWorker } from "./derive-keys";
import { recoveryParams } from "./kdf-params";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; // RFC 4648 base32
const CODE_BYTES = 20; // 160 bits → 32 characters

/** A fresh recovery code: 32 base32 characters in 8 groups of 4 (160 bits of entropy). */
export function generateRecoveryCode(): string {
  const bytes = randomBytes(CODE_BYTES);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31] ?? "";
      bits -= 5;
    }
  }
  wipe(bytes);
  return out.match(/.{4}/g)?.join("-") ?? out;
}

/** Canonical form for derivation: upper case, no spaces or dashes. Null if it cannot be a code. */
export function normalizeRecoveryCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, "");
  return /^[A-Z2-7]{32}$/.test(s) ? s : null;
}

/** Wraps `keys` under a new recovery code; returns the code (show once) and the kit to store. */
export async function makeRecoveryKit(
  keys: AccountKeyPairs,
  userId: string,
  email: string,
): Promise<{ code: string; kit: TRecoveryKit }> {
  const code = generateRecoveryCode();
  const salt = toBase64Url(generateSalt());
  const normalized = normalizeRecoveryCode(code) ?? "";
  const { authKey, wrapKey } = await deriveInWorker(normalized, recoveryParams(salt), "recovery-code", email);
  try {
    // The kit carries the code's auth key (hashed by the console on arrival), so the lost-password
    // flow can prove the code before it is given the wrapped keys.
    return { code, kit: { salt, authKey: toBase64Url(authKey), ...wrapAccountKeys(keys, userId, wrapKey) } };
  } finally {
    wipe(authKey, wrapKey);
  }
}

/** True if `code` opens the stored kit to this account's keys (checked locally only). */
export async function checkRecoveryCode(
  kit: TRecoveryKit,
  code: string,
  publicKeys: Pick<TAccountKeys, "identityPublicKey" | "boxPublicKey" | "boxKeyCertificate">,
  userId: string,
  email: string,
): Promise<boolean> {
  const normalized = normalizeRecoveryCode(code);
  if (normalized === null) return false;
  const { authKey, wrapKey } = await deriveInWorker(normalized, recoveryParams(kit.salt), "recovery-code", email);
  try {
    const keys = unwrapAccountKeys(publicKeys, kit, userId, wrapKey);
    wipe(keys.identity.privateKey, keys.box.privateKey);
    return true;
  } catch {
    return false;
  } finally {
    wipe(authKey, wrapKey);
  }
}
