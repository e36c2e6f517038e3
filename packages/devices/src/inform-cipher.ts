/** AES-128-CBC (PKCS#7) and AES-128-GCM for inform payloads, on node:crypto. */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { concatBytes, u8 } from "./bytes";
import { DeviceCodecError } from "./errors";
import type { InformCipher } from "./inform-header";

const TAG = 16;

/**
 * md5("ubnt") = ba86f2bbe107c7c57eb5f2690775c712: the public key of every unadopted device.
 * A packet under it authenticates nothing.
 */
export const INFORM_DEFAULT_KEY: Uint8Array = u8(createHash("md5").update("ubnt").digest());

function checkKey(key: Uint8Array, iv: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 16) throw new RangeError("inform key must be 16 bytes");
  if (!(iv instanceof Uint8Array) || iv.length !== 16) throw new RangeError("inform iv must be 16 bytes");
}

/**
 * Encrypts an inform payload. GCM uses all 16 IV bytes as the GCM IV (NIST SP 800-38D
 * §7.1 GHASH-derived J0 for IVs other than 96 bits), as jrjparks/OpnFi-rs
 * lib_opnfi/src/inform/mod.rs does (`decrypt_aead(aes_128_gcm, key, Some(&iv16), &aad40, ..)`),
 * with the 40-byte header as additional data and the 16-byte tag appended.
 */
export function encryptInform(
  cipher: InformCipher,
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  checkKey(key, iv);
  if (cipher === "cbc") {
    const c = createCipheriv("aes-128-cbc", key, iv);
    return concatBytes(u8(c.update(data)), u8(c.final()));
  }
  const c = createCipheriv("aes-128-gcm", key, iv, { authTagLength: TAG });
  c.setAAD(aad);
  return concatBytes(u8(c.update(data)), u8(c.final()), u8(c.getAuthTag()));
}

/**
 * Decrypts an inform payload. Every failure — wrong length, bad PKCS#7 padding, bad tag —
 * is the same opaque `auth_failed` (no padding oracle, RFC 5116 §2.2 style).
 */
export function decryptInform(
  cipher: InformCipher,
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  checkKey(key, iv);
  try {
    if (cipher === "cbc") {
      if (data.length === 0 || data.length % 16 !== 0) throw DeviceCodecError.authFailed();
      const d = createDecipheriv("aes-128-cbc", key, iv);
      return concatBytes(u8(d.update(data)), u8(d.final()));
    }
    if (data.length < TAG) throw DeviceCodecError.authFailed();
    const d = createDecipheriv("aes-128-gcm", key, iv, { authTagLength: TAG });
    d.setAAD(aad);
    d.setAuthTag(data.subarray(data.length - TAG));
    const body = u8(d.update(data.subarray(0, data.length - TAG)));
    const rest = d.final(); // checks the tag; GCM has no bytes left over
    return rest.length === 0 ? body : concatBytes(body, u8(rest));
  } catch {
    throw DeviceCodecError.authFailed();
  }
}
