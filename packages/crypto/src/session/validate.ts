// Input checks shared by the session module: labelled TypeError/RangeError naming the field.

/** Throws a TypeError naming `field` unless `value` is a Uint8Array; returns it typed. */
export function assertBytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${field} must be a Uint8Array`);
  }
  return value;
}

/** Throws unless `value` is a Uint8Array of exactly `length` bytes. */
export function assertBytesLength(value: unknown, length: number, field: string): Uint8Array {
  const bytes = assertBytes(value, field);
  if (bytes.length !== length) {
    throw new RangeError(`${field} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Throws unless `value` is a Uint8Array of at most `max` bytes. */
export function assertBytesMax(value: unknown, max: number, field: string): Uint8Array {
  const bytes = assertBytes(value, field);
  if (bytes.length > max) {
    throw new RangeError(`${field} must be at most ${max} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInteger(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${field} must be an integer`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${field} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** True when every byte is zero, without an early exit on the first non-zero byte. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Overwrites secret bytes in place (best effort: JS engines may hold copies elsewhere). */
export function wipe(...arrays: (Uint8Array | null | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}
