import { Secret, TOTP } from "otpauth";
import QRCode from "qrcode";

const PERIOD = 30;

function totpFor(secret: Uint8Array, label = "account"): TOTP {
  return new TOTP({
    issuer: "Veil",
    label,
    algorithm: "SHA1",
    digits: 6,
    period: PERIOD,
    secret: new Secret({ buffer: secret.slice().buffer }),
  });
}

/** A new 160-bit TOTP secret (RFC 6238 with RFC 4226's recommended key length). */
export function newTotpSecret(): Uint8Array {
  return new Uint8Array(new Secret({ size: 20 }).bytes);
}

/** What the authenticator app needs: base32 secret, otpauth:// URI and a QR code as a data URL. */
export async function totpEnrollment(
  secret: Uint8Array,
  email: string,
): Promise<{ secret: string; otpauthUri: string; qrDataUrl: string }> {
  const totp = totpFor(secret, email);
  const otpauthUri = totp.toString();
  return {
    secret: totp.secret.base32,
    otpauthUri,
    qrDataUrl: await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: "M", margin: 1 }),
  };
}

/**
 * Checks a code within ±1 step and returns its time step, or null. The caller accepts it only
 * if the step is newer than the last accepted one (RFC 6238 §5.2: one use per code).
 */
export function checkTotp(secret: Uint8Array, code: string, now = Date.now()): number | null {
  const delta = totpFor(secret).validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / PERIOD) + delta;
}

/** The code for a time (tests and the set-up flow's own checks). */
export function totpCode(secret: Uint8Array, now = Date.now()): string {
  return totpFor(secret).generate({ timestamp: now });
}
