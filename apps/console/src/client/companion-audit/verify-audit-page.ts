import { getPrimitives, toHex, utf8 } from "@veil/crypto";
import { verifyAuditChain, type TAuditBreak, type TAuditReadResult, type TAuditRecord } from "@veil/protocol";

/** Hex SHA-256 of UTF-8 text (the audit chain's hash), computed in this browser. */
export function auditSha256Hex(text: string): string {
  return toHex(getPrimitives().sha256(utf8(text)));
}

/** Where the chain breaks, in words a person can act on. */
export interface AuditPageBreak {
  seq: number;
  reason: TAuditBreak["reason"];
  text: string;
}

/** The outcome of checking one page (and its link to the newer page already shown). */
export interface AuditPageCheck {
  ok: boolean;
  breaks: AuditPageBreak[];
}

const WORDS: Record<TAuditBreak["reason"], (seq: number) => string> = {
  hash_mismatch: (seq) => `record ${seq} was changed after it was written (its hash does not match its content)`,
  link_mismatch: (seq) => `record ${seq} does not link to the record before it (a record is missing or was replaced)`,
  seq_gap: (seq) => `the sequence jumps before record ${seq}`,
  head_mismatch: (seq) => `the newest record ${seq} is not the head the companion reports`,
};

function brk(seq: number, reason: TAuditBreak["reason"]): AuditPageBreak {
  return { seq, reason, text: WORDS[reason](seq) };
}

/**
 * Re-verifies one `audit.read` page in the browser, trusting nothing the companion (or the
 * console relaying it) says about it: every record's hash is recomputed, every record must link
 * to the one before it, the first to the page's `previousHash`; the newest page must end at the
 * head; and an older page's last record must be exactly what the newer page's first record links
 * to (`newerFirst`), so pages cannot be spliced.
 */
export function verifyAuditPage(
  page: TAuditReadResult,
  options: { newest: boolean; newerFirst?: TAuditRecord | undefined },
): AuditPageCheck {
  const breaks = verifyAuditChain(page.records, auditSha256Hex, page.previousHash).map((b) => brk(b.seq, b.reason));
  const last = page.records.at(-1);
  if (options.newest && last !== undefined && (page.head === null || page.head.hash !== last.hash))
    breaks.push(brk(last.seq, "head_mismatch"));
  const newer = options.newerFirst;
  if (newer !== undefined && last !== undefined && newer.prev !== last.hash)
    breaks.push(brk(newer.seq, "link_mismatch"));
  return { ok: breaks.length === 0, breaks };
}
