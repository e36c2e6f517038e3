/**
 * The record framing of the device store's log and snapshot files:
 *
 *   record = length u32 BE | CRC-32 (ISO-HDLC, zlib) of payload u32 BE | payload (UTF-8 JSON)
 *
 * A reader takes records until the first one that does not fit the file, fails its CRC or is
 * not JSON: everything after that is a torn tail (a write cut by a crash) and is discarded.
 */
import { crc32 } from "node:zlib";

/** Bytes before each payload. */
export const RECORD_HEADER_BYTES = 8;
/** Largest payload: a record above this is treated as corruption. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Frames one JSON value. */
export function encodeRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), "utf8");
  if (payload.length > MAX_RECORD_BYTES) throw new RangeError("store record too large");
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/** The records of `bytes` and the offset where the valid prefix ends. */
export interface ScanResult {
  records: unknown[];
  /** Bytes of intact records; anything beyond is a torn or corrupt tail. */
  validBytes: number;
}

/** Reads records from the start of `bytes` until the end or the first bad record. */
export function scanRecords(bytes: Buffer): ScanResult {
  const records: unknown[] = [];
  let off = 0;
  while (off + RECORD_HEADER_BYTES <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    if (len > MAX_RECORD_BYTES || off + RECORD_HEADER_BYTES + len > bytes.length) break;
    const payload = bytes.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
    if (crc32(payload) !== bytes.readUInt32BE(off + 4)) break;
    let value: unknown;
    try {
      value = JSON.parse(payload.toString("utf8"));
    } catch {
      break;
    }
    records.push(value);
    off += RECORD_HEADER_BYTES + len;
  }
  return { records, validBytes: off };
}
