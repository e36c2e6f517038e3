import { join } from "node:path";
import { verifyAuditChain, type TAuditRecord } from "../protocol";
import { listAuditFiles, readAuditFile, readAuditHead, sha256Hex } from "./audit-files";

/** The type of the anchor record that names a break found on start. */
export const AUDIT_BREAK_TYPE = "audit.break";

/** One problem found in the log. */
export interface AuditProblem {
  reason: "hash_mismatch" | "link_mismatch" | "seq_gap" | "unparsable" | "torn_tail" | "truncated" | "head_mismatch";
  /** The record's seq, or the seq after which the bad line sits. */
  seq: number | null;
  file: string | null;
  /** Whether a later `audit.break` anchor already names it (reported once, not on every start). */
  acknowledged: boolean;
}

/** What the start-up check found. */
export interface AuditVerification {
  files: string[];
  records: number;
  /** The newest valid record (the chain continues from its hash). */
  last: { seq: number; hash: string } | undefined;
  /** The highest seq ever used (log or head file): new records start above it. */
  highestSeq: number;
  problems: AuditProblem[];
  /** Whether the active (newest) file ends in a torn or unparsable line: appending to it is unsafe. */
  activeFileDamaged: boolean;
}

/**
 * Reads every log file in order and checks the whole chain (recomputed hashes, links, seqs),
 * every line's shape, and the tail against the head file (a tail cut at a record boundary).
 * Read-only: nothing is repaired or rewritten.
 */
export function verifyAuditLog(dir: string): AuditVerification {
  const files = listAuditFiles(dir);
  const records: TAuditRecord[] = [];
  const fileOf = new Map<TAuditRecord, string>();
  const lineProblems: Omit<AuditProblem, "acknowledged">[] = [];
  let activeFileDamaged = false;
  for (const [i, name] of files.entries()) {
    const lines = readAuditFile(join(dir, name));
    for (const line of lines) {
      if (line.ok) {
        records.push(line.record);
        fileOf.set(line.record, name);
      } else lineProblems.push({ reason: line.reason, seq: records.at(-1)?.seq ?? null, file: name });
    }
    if (i === files.length - 1) activeFileDamaged = lines.length > 0 && lines.at(-1)?.ok === false;
  }
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  const problems: Omit<AuditProblem, "acknowledged">[] = [
    ...verifyAuditChain(records, sha256Hex).map((b) => ({
      reason: b.reason,
      seq: b.seq,
      file: fileOf.get(bySeq.get(b.seq) as TAuditRecord) ?? null,
    })),
    ...lineProblems,
  ];
  const last = records.at(-1);
  const head = readAuditHead(dir);
  if (head !== undefined) {
    if (last === undefined || last.seq < head.seq) problems.push({ reason: "truncated", seq: head.seq, file: null });
    else if (last.seq === head.seq && last.hash !== head.hash)
      problems.push({ reason: "head_mismatch", seq: head.seq, file: null });
  }
  // A break anchor acknowledges every problem before it; problems after the last one are new.
  const lastAnchor = records.findLast((r) => r.kind === "anchor" && r.type === AUDIT_BREAK_TYPE);
  const acknowledged = (p: Omit<AuditProblem, "acknowledged">): boolean =>
    lastAnchor !== undefined && p.seq !== null && p.seq < lastAnchor.seq;
  return {
    files,
    records: records.length,
    last: last === undefined ? undefined : { seq: last.seq, hash: last.hash },
    highestSeq: records.reduce((m, r) => Math.max(m, r.seq), head?.seq ?? -1),
    problems: problems.map((p) => ({ ...p, acknowledged: acknowledged(p) })),
    activeFileDamaged,
  };
}

/** One line for the anchor record: what broke and where (at most 300 characters). */
export function describeProblems(problems: readonly AuditProblem[]): string {
  const parts = problems.map(
    (p) => `${p.reason}${p.seq === null ? "" : ` at seq ${p.seq}`}${p.file ? ` in ${p.file}` : ""}`,
  );
  const text = parts.join("; ");
  return text.length <= 300 ? text : `${text.slice(0, 280)}… (${problems.length} problems)`;
}
