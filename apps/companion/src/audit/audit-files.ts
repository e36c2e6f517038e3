import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ZAuditHeadSchema, ZAuditRecordSchema, type TAuditRecord } from "../protocol";

/** The last record written and fsync'd (detects a tail cut at a record boundary). */
export const AUDIT_HEAD_FILE = "audit-head.json";
const FILE_PATTERN = /^audit-(\d{12})\.jsonl$/;
/** Longest line accepted when reading (a record is well under 2 KiB). */
export const MAX_AUDIT_LINE_BYTES = 4096;

/** Hex SHA-256 of the UTF-8 text (node:crypto: the companion runs only on Node). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The file that starts at `seq`. */
export function auditFileName(seq: number): string {
  return `audit-${String(seq).padStart(12, "0")}.jsonl`;
}

/** Log files, oldest first (names sort by their first seq). */
export function listAuditFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => FILE_PATTERN.test(n))
    .sort();
}

/** One line of a log file: a parsed record, or why it is not one. */
export type AuditLine =
  { ok: true; record: TAuditRecord; bytes: number } | { ok: false; reason: "unparsable" | "torn_tail"; bytes: number };

/**
 * Reads one log file line by line. A last line without its newline is a torn tail (a write cut
 * by a crash); any other line that is not a valid record is unparsable. Nothing is repaired.
 */
export function readAuditFile(path: string): AuditLine[] {
  const text = readFileSync(path, "utf8");
  const out: AuditLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(start, end);
    const bytes = Buffer.byteLength(line) + (nl === -1 ? 0 : 1);
    start = end + 1;
    if (nl === -1) {
      out.push({ ok: false, reason: "torn_tail", bytes });
      break;
    }
    out.push(parseLine(line, bytes));
  }
  return out;
}

function parseLine(line: string, bytes: number): AuditLine {
  if (bytes > MAX_AUDIT_LINE_BYTES) return { ok: false, reason: "unparsable", bytes };
  try {
    const parsed = ZAuditRecordSchema.safeParse(JSON.parse(line));
    if (parsed.success) return { ok: true, record: parsed.data, bytes };
  } catch {
    // not JSON: reported below
  }
  return { ok: false, reason: "unparsable", bytes };
}

/** The head file's content, or undefined when missing or not valid. */
export function readAuditHead(dir: string): { seq: number; hash: string } | undefined {
  try {
    const parsed = ZAuditHeadSchema.safeParse(JSON.parse(readFileSync(join(dir, AUDIT_HEAD_FILE), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
