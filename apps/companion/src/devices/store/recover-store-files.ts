/**
 * Recovery of the device store's files (append-store.ts) on open: the snapshot, then the chain
 * of logs from the snapshot's generation up (more than one only after a compaction was cut
 * short), torn tails truncated, and stale files of interrupted compactions removed.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { scanRecords } from "./record-framing";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** Fsyncs a folder (so a created, renamed or deleted name survives a crash). */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The path of the log of generation `gen`. */
export const logPath = (dir: string, name: string, gen: number): string => join(dir, `${name}.${gen}.log`);

/** What recoverStoreFiles found. */
export interface RecoveredFiles {
  /** Snapshot records (without the markers), then every log's records, in order. */
  readonly records: unknown[];
  /** The snapshot's generation (0 without a snapshot): the oldest live log. */
  readonly snapGen: number;
  /** The newest live log: appends continue there. */
  readonly logGen: number;
  /** Bytes and records of intact records in the newest log. */
  readonly logBytes: number;
  readonly logRecords: number;
  readonly lastCompactionAt: number | null;
  readonly truncatedBytes: number;
}

function truncate(path: string, length: number): void {
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads snapshot + logs of store `name` in `dir`. Throws when the snapshot is unreadable. */
export function recoverStoreFiles(dir: string, name: string): RecoveredFiles {
  const snapPath = join(dir, `${name}.snap`);
  const records: unknown[] = [];
  let snapGen = 0;
  let lastCompactionAt: number | null = null;
  if (existsSync(snapPath)) {
    const scan = scanRecords(readFileSync(snapPath));
    const head = scan.records[0];
    const tail = scan.records.at(-1);
    const n = scan.records.length - 2;
    if (
      !isObj(head) ||
      head.t !== "snap" ||
      typeof head.gen !== "number" ||
      !isObj(tail) ||
      tail.t !== "end" ||
      tail.n !== n
    ) {
      throw new Error(
        `${snapPath} is incomplete or corrupt: restore it from a backup or move it away to start an empty device store`,
      );
    }
    snapGen = head.gen;
    lastCompactionAt = typeof head.at === "number" ? head.at : null;
    for (let i = 1; i <= n; i++) records.push(scan.records[i]);
  }
  // Logs snapGen, snapGen+1, … while they exist: each rotation makes the next number, and a
  // finished compaction deletes those below its snapshot, so the chain has no gaps.
  let logGen = snapGen;
  let logBytes = 0;
  let logRecords = 0;
  let truncatedBytes = 0;
  for (let gen = snapGen; existsSync(logPath(dir, name, gen)); gen++) {
    const path = logPath(dir, name, gen);
    const bytes = readFileSync(path);
    const scan = scanRecords(bytes);
    // A loop, not push(...records): a long log would exceed the engine's argument limit.
    for (const record of scan.records) records.push(record);
    if (scan.validBytes < bytes.length) {
      truncatedBytes += bytes.length - scan.validBytes;
      truncate(path, scan.validBytes);
    }
    logGen = gen;
    logBytes = scan.validBytes;
    logRecords = scan.records.length;
  }
  // Stale files of an interrupted compaction: logs outside the chain, our temp snapshots.
  const logName = new RegExp(`^${name}\\.(\\d+)\\.log$`);
  for (const f of readdirSync(dir)) {
    const m = logName.exec(f);
    const stale = m !== null && (Number(m[1]) < snapGen || Number(m[1]) > logGen);
    if (stale || (f.startsWith(`.${name}.snap.`) && f.endsWith(".tmp"))) unlinkSync(join(dir, f));
  }
  return { records, snapGen, logGen, logBytes, logRecords, lastCompactionAt, truncatedBytes };
}
