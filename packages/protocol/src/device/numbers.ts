import { z } from "zod";

/** Short free text from a device (names, models, versions): printable, capped. */
export const zDeviceText = (max = 128): z.ZodString => z.string().max(max);

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
