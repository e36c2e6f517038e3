/**
 * One canonical form of an e-mail address, used both as the KDF context (bound into the
 * Argon2id salt by @veil/crypto, which wants Unicode NFC) and in request bodies (the console's
 * schema trims and lower-cases): NFC, trimmed, lower-cased, NFC again.
 */
export function normalizeEmail(input: string): string {
  return input.normalize("NFC").trim().toLowerCase().normalize("NFC");
}
