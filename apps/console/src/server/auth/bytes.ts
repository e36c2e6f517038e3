import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const b64u = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
export const fromB64u = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64url"));

/** 256-bit random value (session tokens, challenges, invites). */
export function random256(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** u32 big-endian length prefix, as in @veil/crypto's lengthPrefixed(). */
function lp(label: string): Buffer {
  const bytes = Buffer.from(label, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** Domain-separated SHA-256: SHA-256(lp(label) ‖ data). */
export function labelledHash(label: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(lp(label)).update(data).digest());
}

/** Constant-time equality of two byte strings (false on length mismatch). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export const SESSION_TOKEN_LABEL = "veil/v1/session-token";
export const CHALLENGE_LABEL = "veil/v1/login-challenge";
export const INVITE_LABEL = "veil/v1/invite-token";
