/**
 * Strict unpadded base64url (RFC 4648 §5) for the companion codecs. packages/protocol imports
 * nothing but zod, so it carries this small codec instead of depending on @veil/crypto. The
 * decoder accepts exactly one text form per byte string: no padding, no whitespace, no other
 * alphabet, and zero trailing bits (RFC 4648 §3.5).
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INDEX = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));

/** Unpadded base64url of `bytes`. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 63] ?? "";
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 63] ?? "";
  return out;
}

/** Parses unpadded base64url; throws a RangeError for anything that is not its one canonical form. */
export function decodeBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new RangeError("base64url is malformed");
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (const c of text) {
    const v = INDEX.get(c);
    if (v === undefined) throw new RangeError("base64url is malformed");
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new RangeError("base64url has non-zero trailing bits");
  return out;
}

/** Standard padded base64 (RFC 4648 §4), the form curl's `--pinnedpubkey sha256//…` uses. */
export function encodeBase64(bytes: Uint8Array): string {
  const url = encodeBase64Url(bytes).replace(/-/g, "+").replace(/_/g, "/");
  return url + "=".repeat((4 - (url.length % 4)) % 4);
}

/** Parses standard padded base64 strictly (canonical form only). */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new RangeError("base64 is malformed");
  return decodeBase64Url(text.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"));
}
