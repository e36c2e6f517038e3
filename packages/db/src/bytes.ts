import { customType } from "drizzle-orm/pg-core";

/**
 * Normalise a bytea value from either driver to a plain Uint8Array: PGlite returns
 * Uint8Array, postgres.js returns Buffer (a Uint8Array subclass whose slice() shares memory
 * and whose equality/JSON differ). Callers always see Uint8Array.
 */
export function toBytes(value: Uint8Array | string): Uint8Array {
  if (typeof value === "string") {
    // Text-format bytea (`\x…`), e.g. from a raw query through a driver without parsers.
    if (value.startsWith("\\x")) return Uint8Array.from(Buffer.from(value.slice(2), "hex"));
    throw new TypeError("bytea: unexpected text value");
  }
  return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
}

/** A bytea column that reads and writes Uint8Array on both drivers. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array | string }>({
  dataType() {
    return "bytea";
  },
  toDriver(value: Uint8Array): Uint8Array {
    // postgres.js only infers bytea for Buffer; PGlite accepts both.
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
  fromDriver(value: Uint8Array | string): Uint8Array {
    return toBytes(value);
  },
});
