import { z } from "zod";
import { decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url } from "./base64url";
import { zB64u, ZIdSchema, ZSecret256Schema } from "../fields";

/**
 * The enrollment string: one line an admin's browser shows and a site host pastes. It carries
 * everything the companion needs to find, authenticate to and pin the console, and to pin the
 * key that signs the instance's certificate and grants:
 *
 *   "veil1_" ‖ base64url( version u8 = 1 ‖ instanceId (16 bytes, UUID) ‖ token (32) ‖
 *                         signerFingerprint (32) ‖ consoleSpkiSha256 (32) ‖
 *                         u16be urlLength ‖ consoleUrl (UTF-8, ≤ 512 bytes) )
 *
 * The token is the 256-bit instance token; its 43-character base64url text is the secret the
 * companion stretches with Argon2id (kind "instance-token"). The string is a secret: it never
 * goes into argv, a URL or a log line (docs/PROTOCOL-COMPANION.md, "Enrollment string").
 */
export const ENROLLMENT_PREFIX = "veil1_";
/** Version byte of the binary payload. */
export const ENROLLMENT_VERSION = 1;
/** Longest console URL in UTF-8 bytes. */
export const MAX_CONSOLE_URL_BYTES = 512;
/** Longest enrollment string accepted, checked before any decoding. */
export const MAX_ENROLLMENT_LENGTH: number =
  ENROLLMENT_PREFIX.length + Math.ceil(((1 + 16 + 32 * 3 + 2 + MAX_CONSOLE_URL_BYTES) * 4) / 3);

/** `sha256//` + standard base64 of the SHA-256 of the console certificate's DER SubjectPublicKeyInfo (curl's --pinnedpubkey form). */
export const ZSpkiPinSchema = z
  .string()
  .regex(/^sha256\/\/[A-Za-z0-9+/]{43}=$/, "must be sha256//<base64 of 32 bytes>");
export type TSpkiPin = z.infer<typeof ZSpkiPinSchema>;

/**
 * The console's base URL: https only, an origin with no credentials, query, fragment or path
 * (every endpoint path is fixed by the protocol).
 */
export const ZConsoleUrlSchema = z
  .string()
  .max(MAX_CONSOLE_URL_BYTES)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (
        u.protocol === "https:" &&
        u.username === "" &&
        u.password === "" &&
        u.search === "" &&
        u.hash === "" &&
        u.pathname === "/" &&
        u.origin === s
      );
    } catch {
      return false;
    }
  }, "must be an https origin such as https://console.example:8443");

/** A decoded enrollment string. */
export const ZEnrollmentSchema = z.strictObject({
  consoleUrl: ZConsoleUrlSchema,
  instanceId: ZIdSchema,
  /** The instance token, base64url (43 characters). */
  token: ZSecret256Schema,
  /** SHA-256 fingerprint (@veil/crypto `fingerprint`) of the Ed25519 key that signs the instance certificate and its grants. */
  signerFingerprint: zB64u({ bytes: 32 }),
  consolePin: ZSpkiPinSchema,
});
export type TEnrollment = z.infer<typeof ZEnrollmentSchema>;

function uuidToBytes(id: string): Uint8Array {
  const hex = id.replace(/-/g, "");
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToUuid(b: Uint8Array): string {
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Encodes an enrollment (validated first) as its one-line string. */
export function encodeEnrollment(input: TEnrollment): string {
  const e = ZEnrollmentSchema.parse(input);
  const url = new TextEncoder().encode(e.consoleUrl);
  const parts = [
    Uint8Array.of(ENROLLMENT_VERSION),
    uuidToBytes(e.instanceId.toLowerCase()),
    decodeBase64Url(e.token),
    decodeBase64Url(e.signerFingerprint),
    decodeBase64(e.consolePin.slice("sha256//".length)),
    Uint8Array.of(url.length >> 8, url.length & 0xff),
    url,
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return ENROLLMENT_PREFIX + encodeBase64Url(out);
}

/** Why an enrollment string was refused; the message never echoes the input. */
export class EnrollmentStringError extends Error {
  constructor(reason: string) {
    super(`invalid enrollment string: ${reason}`);
    this.name = "EnrollmentStringError";
  }
}

/**
 * Parses an enrollment string strictly: length cap before decoding, prefix, canonical
 * base64url, version, exact length, then the zod schema. Surrounding whitespace (a pasted
 * newline) is trimmed; nothing else is forgiven. Throws EnrollmentStringError.
 */
export function decodeEnrollment(text: string): TEnrollment {
  if (typeof text !== "string") throw new EnrollmentStringError("not a string");
  const s = text.trim();
  if (s.length > MAX_ENROLLMENT_LENGTH) throw new EnrollmentStringError("too long");
  if (!s.startsWith(ENROLLMENT_PREFIX)) throw new EnrollmentStringError(`must start with ${ENROLLMENT_PREFIX}`);
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64Url(s.slice(ENROLLMENT_PREFIX.length));
  } catch {
    throw new EnrollmentStringError("not base64url");
  }
  const fixed = 1 + 16 + 32 * 3 + 2;
  if (bytes.length < fixed) throw new EnrollmentStringError("truncated");
  if (bytes[0] !== ENROLLMENT_VERSION) throw new EnrollmentStringError("unsupported version");
  const urlLength = ((bytes[fixed - 2] ?? 0) << 8) | (bytes[fixed - 1] ?? 0);
  if (urlLength > MAX_CONSOLE_URL_BYTES || bytes.length !== fixed + urlLength)
    throw new EnrollmentStringError("bad length");
  let consoleUrl: string;
  try {
    consoleUrl = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(fixed));
  } catch {
    throw new EnrollmentStringError("console URL is not UTF-8");
  }
  const parsed = ZEnrollmentSchema.safeParse({
    consoleUrl,
    instanceId: bytesToUuid(bytes.subarray(1, 17)),
    token: encodeBase64Url(bytes.subarray(17, 49)),
    signerFingerprint: encodeBase64Url(bytes.subarray(49, 81)),
    consolePin: "sha256//" + encodeBase64(bytes.subarray(81, 113)),
  });
  if (!parsed.success)
    throw new EnrollmentStringError(parsed.error.issues.map((i) => i.path.join(".")).join(", ") || "schema");
  return parsed.data;
}
