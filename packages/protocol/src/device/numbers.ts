import { z } from "zod";

/**
 * Characters a LAN device could use to make one name render as another: C0 and C1 controls
 * (with DEL), the line and paragraph separators, and the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E–200F, U+202A–202E, U+2066–2069), which reorder the
 * text around them ("core-sw\u202Efdp" shows as "core-swpdf").
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const DEVICE_TEXT_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Replaces each character of {@link DEVICE_TEXT_UNSAFE} with U+FFFD, so the text shows that
 * something was there and keeps its length. Text without them is returned as it is.
 */
export function printableDeviceText(text: string): string {
  return text.replace(DEVICE_TEXT_UNSAFE, "\uFFFD");
}

/**
 * Short free text from a device (names, models, versions): capped, and made printable. Any host
 * on the LAN can inform as a pending device and choose this text. Unsafe characters are replaced
 * (U+FFFD), not refused: refusing would drop a whole inform, or a whole page of the device list,
 * for one stray byte in one host name, while a replaced character loses only itself and can no
 * longer reorder or hide the text around it.
 */
export const zDeviceText = (max = 128): z.ZodString => z.string().max(max).overwrite(printableDeviceText);

/** A device MAC in Veil's one text form, lower-case `aa:bb:cc:dd:ee:ff`. */
export const ZMacSchema = z
  .string()
  .max(17)
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "must be a lower-case MAC aa:bb:cc:dd:ee:ff");

/** A dotted IPv4 address. */
export const ZIpv4Schema = z.ipv4();

/**
 * A counter or size: a non-negative safe integer. (`z.int()` already bounds a value to the safe
 * integers, so this is two checks, not three: informs carry hundreds of counters each.)
 */
export const ZCountSchema = z.int().nonnegative();

/**
 * A number that UniFi firmware sends either as a JSON number or as a numeric string
 * (`"0.12"` in sys_stats); parsed to a finite number.
 */
export const ZLooseNumberSchema = z.union([
  z.number().finite(),
  z
    .string()
    .max(32)
    .regex(/^-?\d+(\.\d+)?$/, "must be numeric")
    .transform(Number),
]);
