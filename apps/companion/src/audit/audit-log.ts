import { closeSync, fstatSync, fsync, fsyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import {
  AUDIT_GENESIS_HASH,
  auditHashInput,
  MAX_E2E_MESSAGE_BYTES,
  type TAuditEntry,
  type TAuditReadBody,
  type TAuditReadResult,
  type TAuditRecord,
} from "../protocol";
import { writeSecretFile, writeSecretFileAsync } from "../state/write-secret-file";
import { AUDIT_HEAD_FILE, auditFileName, listAuditFiles, readAuditFile, sha256Hex } from "./audit-files";
import { AUDIT_BREAK_TYPE, describeProblems, verifyAuditLog, type AuditVerification } from "./verify-audit-log";

/** Where audit records go: the dispatcher, the responder and the terminal call `append`. */
export interface AuditSink {
  append(entry: TAuditEntry): TAuditRecord;
}

/** Options of {@link AuditLog.open}. */
export interface AuditLogOptions {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  /** A file is closed and a new one started once it reaches this size. Default 4 MiB. */
  maxFileBytes?: number;
  /** Files kept; the oldest is deleted beyond this. Default 8 (so at most ≈ 32 MiB). */
  maxFiles?: number;
  /** Longest an appended record waits for fsync. Default 500 ms. */
  syncIntervalMs?: number;
  /** Start an fsync at once when this many records wait. Default 64. */
  syncEveryRecords?: number;
}

/** Bytes of records one `audit.read` answer may carry (the rest of the message cap is framing). */
const PAGE_BUDGET_BYTES = MAX_E2E_MESSAGE_BYTES - 8_000;

function clip(text: string | null, max: number): string | null {
  return text === null || text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/**
 * The companion's local audit log: JSON lines in `<state>/audit-<first seq>.jsonl` (0600), each
 * record chained to the one before by SHA-256 (`prev`, `hash`), written at once and fsync'd in
 * batches on the thread pool (an fsync never stalls the requests being answered), with the last
 * synced record in `audit-head.json`. Verified on every start;
 * a break is reported and the log continues in a new file from an anchor record that names it
 * — old files are never rewritten. Bounded: files rotate at `maxFileBytes` and the oldest go
 * beyond `maxFiles`; each new file's first record links to the last hash of the one before.
 */
export class AuditLog implements AuditSink {
  readonly #o: Required<AuditLogOptions>;
  readonly #dir: string;
  #fd: number | undefined;
  #fileBytes = 0;
  #last: { seq: number; hash: string } | undefined;
  #nextSeq: number;
  #unsynced = 0;
  /** An fsync (and head write) running on the thread pool. */
  #syncing = false;
  /** Files opened so far: tells a late fsync result whether its file is still the open one. */
  #fileCount = 0;
  #timer: unknown = undefined;
  #closed = false;
  /** What the start-up check found. */
  readonly verification: AuditVerification;

  private constructor(options: AuditLogOptions, dir: string, verification: AuditVerification) {
    this.#o = { maxFileBytes: 4 << 20, maxFiles: 8, syncIntervalMs: 500, syncEveryRecords: 64, ...options };
    this.#dir = dir;
    this.verification = verification;
    this.#last = verification.last;
    this.#nextSeq = verification.highestSeq + 1;
  }

  /** Opens (and verifies) the log in the state folder, then records the start or the break found. */
  static open(options: AuditLogOptions): AuditLog {
    const dir = options.stateDir;
    const verification = verifyAuditLog(dir);
    const log = new AuditLog(options, dir, verification);
    const fresh = verification.problems.filter((p) => !p.acknowledged);
    const base = { accountId: null, signer: null, role: null, target: null, durationMs: null, metrics: null };
    if (fresh.length > 0) {
      const detail = describeProblems(fresh);
      options.logger.error("audit log: chain broken; continuing from a new anchor", {
        problems: fresh.length,
        detail,
      });
      log.#startFile();
      log.append({
        ...base,
        kind: "anchor",
        type: AUDIT_BREAK_TYPE,
        result: "error",
        code: fresh[0]?.reason ?? null,
        detail,
      });
    } else {
      const active = verification.files.at(-1);
      if (active === undefined || verification.activeFileDamaged) log.#startFile();
      else log.#openFile(active);
      log.append({
        ...base,
        kind: "anchor",
        type: "audit.start",
        result: "ok",
        code: null,
        detail: `verified ${verification.records} records in ${verification.files.length} files`,
      });
    }
    log.flush();
    return log;
  }

  /** The newest record. */
  get head(): { seq: number; hash: string } | undefined {
    return this.#last;
  }

  /**
   * Chains one record onto the log and writes it (fsync follows within `syncIntervalMs`, or as
   * soon as `syncEveryRecords` wait). Over-long strings are cut.
   */
  append(entry: TAuditEntry): TAuditRecord {
    if (this.#closed) throw new Error("audit log is closed");
    const unsigned = {
      ...entry,
      seq: this.#nextSeq,
      at: this.#o.clock.now(),
      target: clip(entry.target, 160),
      code: clip(entry.code, 64),
      detail: clip(entry.detail, 300),
      prev: this.#last?.hash ?? AUDIT_GENESIS_HASH,
    };
    const record: TAuditRecord = { ...unsigned, hash: sha256Hex(auditHashInput(unsigned)) };
    const line = Buffer.from(JSON.stringify(record) + "\n", "utf8");
    if (this.#fd === undefined || this.#fileBytes >= this.#o.maxFileBytes) this.#startFile();
    const fd = this.#fd as number;
    let off = 0;
    while (off < line.length) off += writeSync(fd, line, off, line.length - off);
    this.#fileBytes += line.length;
    this.#last = { seq: record.seq, hash: record.hash };
    this.#nextSeq = record.seq + 1;
    this.#unsynced += 1;
    if (this.#unsynced >= this.#o.syncEveryRecords) this.#syncInBackground();
    else if (this.#timer === undefined)
      this.#timer = this.#o.clock.setTimeout(() => this.#syncInBackground(), this.#o.syncIntervalMs);
    return record;
  }

  /**
   * fsyncs the open file on the thread pool, then records the head; one at a time. A sync that
   * fails is logged and its records are counted as waiting again.
   */
  #syncInBackground(): void {
    if (this.#timer !== undefined) {
      this.#o.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#syncing || this.#closed || this.#fd === undefined || this.#unsynced === 0) return;
    this.#syncing = true;
    const count = this.#unsynced;
    const head = this.#last;
    const fd = this.#fd;
    const file = this.#fileCount;
    this.#unsynced = 0;
    const done = (error: unknown): void => {
      this.#syncing = false;
      // A file closed meanwhile (rotation, shutdown) was fsync'd synchronously before closing.
      if (error !== undefined && this.#fileCount === file && !this.#closed) {
        this.#unsynced += count;
        this.#o.logger.error("audit log: fsync failed", { error: error instanceof Error ? error.name : "unknown" });
      }
      // Records appended meanwhile: sync them now if enough wait, or within the interval.
      if (this.#unsynced >= this.#o.syncEveryRecords) this.#syncInBackground();
      else if (this.#unsynced > 0 && this.#timer === undefined && !this.#closed)
        this.#timer = this.#o.clock.setTimeout(() => this.#syncInBackground(), this.#o.syncIntervalMs);
    };
    fsync(fd, (error) => {
      if (error !== null || head === undefined || this.#closed) return done(error ?? undefined);
      // A head written late is older than the log's tail, which the start-up check accepts.
      writeSecretFileAsync(join(this.#dir, AUDIT_HEAD_FILE), JSON.stringify(head)).then(
        () => done(undefined),
        (e: unknown) => done(e),
      );
    });
  }

  /** fsyncs the open file and records the head (seq and hash of the last record), now. */
  flush(): void {
    if (this.#timer !== undefined) {
      this.#o.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#fd !== undefined && this.#unsynced > 0) fsyncSync(this.#fd);
    this.#unsynced = 0;
    if (this.#last !== undefined) writeSecretFile(join(this.#dir, AUDIT_HEAD_FILE), JSON.stringify(this.#last));
  }

  /** Closes the current file (after fsync) and opens a new one named by the next seq; drops the oldest beyond `maxFiles`. */
  #startFile(): void {
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#unsynced = 0;
    }
    this.#openFile(auditFileName(this.#nextSeq));
    const files = listAuditFiles(this.#dir);
    for (const old of files.slice(0, Math.max(0, files.length - this.#o.maxFiles))) {
      unlinkSync(join(this.#dir, old));
      this.#o.logger.info("audit log: oldest file rotated away", { file: old });
    }
  }

  #openFile(name: string): void {
    this.#fd = openSync(join(this.#dir, name), "a", 0o600);
    this.#fileCount += 1;
    this.#fileBytes = fstatSync(this.#fd).size;
  }

  /**
   * One page, newest first by `before`: up to `limit` records (fewer if they would not fit one
   * E2E message), ascending, with the stored hash of the record before them and the head.
   * Lines that are not valid records are skipped: the reader sees the broken link.
   */
  read(body: TAuditReadBody): TAuditReadResult {
    const picked: TAuditRecord[] = [];
    let previous: TAuditRecord | undefined;
    let budget = PAGE_BUDGET_BYTES;
    const files = listAuditFiles(this.#dir).reverse();
    outer: for (const name of files) {
      // A file named by a first seq at or past `before` holds nothing older: not read at all, so
      // paging back costs one file (≤ maxFileBytes) per page, not the whole log.
      if (body.before !== undefined && firstSeqOf(name) >= body.before) continue;
      const lines = readAuditFile(join(this.#dir, name));
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i];
        if (line?.ok !== true) continue;
        if (body.before !== undefined && line.record.seq >= body.before) continue;
        if (picked.length >= body.limit || line.bytes > budget) {
          previous = line.record;
          break outer;
        }
        picked.push(line.record);
        budget -= line.bytes;
      }
    }
    picked.reverse();
    return {
      records: picked,
      previousHash: previous?.hash ?? null,
      more: previous !== undefined,
      head: this.#last ?? null,
    };
  }

  /** Flushes and closes; later appends throw. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } catch (error) {
      // The state folder went away under us (or the disk failed): say so, still close the file.
      this.#o.logger.error("audit log: final fsync failed", { error: error instanceof Error ? error.name : "unknown" });
    }
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** The first seq of a log file, from its name (`audit-<seq>.jsonl`). */
function firstSeqOf(name: string): number {
  return Number(name.slice("audit-".length, name.length - ".jsonl".length));
}
