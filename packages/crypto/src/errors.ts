/**
 * Errors and input checks shared by every module.
 *
 * Two kinds of failure are kept apart on purpose:
 * - programming errors (wrong type, wrong length, out-of-range parameter) throw a labelled
 *   `TypeError` / `RangeError` that names the offending field, so bugs are found quickly;
 * - cryptographic failures (a tag that does not verify, a wrapped key served for another owner,
 *   a truncated envelope, a signature that does not verify) throw ONE opaque error per kind
 *   whose message never says which check failed, so an attacker learns nothing from it
 *   (no padding-oracle-style distinctions).
 */

/** The one error every failed open / unwrap / decrypt throws. Its message never varies. */
export class DecryptError extends Error {
  constructor() {
    super("decryption failed");
    this.name = "DecryptError";
  }
}

/** The one error every failed signature / certificate verification throws. */
export class VerifyError extends Error {
  constructor() {
    super("signature verification failed");
    this.name = "VerifyError";
  }
}

/** True for a Uint8Array (including Node's Buffer and Uint8Arrays from another realm). */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && (value as { constructor?: { name?: string } }).constructor?.name === "Uint8Array")
  );
}

/**
 * Throws a labelled TypeError unless `value` is a Uint8Array, and a RangeError unless its length
 * is `length` (when given) or within [min, max] (when given).
 */
export function assertBytes(value: unknown, field: string, length?: number): asserts value is Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${field} must be a Uint8Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${field} must be ${length} bytes, got ${value.length}`);
  }
}

/** Like `assertBytes`, with a length range instead of an exact length. */
export function assertBytesRange(value: unknown, field: string, min: number, max: number): asserts value is Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${field} must be a Uint8Array, got ${describe(value)}`);
  if (value.length < min || value.length > max) {
    throw new RangeError(`${field} must be between ${min} and ${max} bytes, got ${value.length}`);
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInteger(value: unknown, field: string, min: number, max: number): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(`${field} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${field} must be between ${min} and ${max}, got ${value}`);
}

/** Throws unless `value` is a string whose length is in [min, max] and which matches `pattern`. */
export function assertString(
  value: unknown,
  field: string,
  min: number,
  max: number,
  pattern?: RegExp,
): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${field} must be a string, got ${describe(value)}`);
  if (value.length < min || value.length > max) {
    throw new RangeError(`${field} must be between ${min} and ${max} characters, got ${value.length}`);
  }
  if (pattern !== undefined && !pattern.test(value)) throw new RangeError(`${field} has an invalid format`);
}

/** A short description of a value's type for error messages (never its content). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}
