/**
 * A crash-safe local store: an append-only log of framed records (record-framing.ts) plus a
 * snapshot that periodic compaction rewrites. Files in the state folder, all mode 0600:
 *
 *   <name>.snap        snapshot: {t:"snap", gen, at} · records… · {t:"end", n}
 *   <name>.<gen>.log   records appended since the snapshot of generation `gen`
 *
 * Appends are buffered and written + fdatasync'd together at most every `syncIntervalMs`
 * (≤ 1 s), so kill -9 loses at most the last unsynced interval. Compaction writes the new
 * snapshot to a temp file, fsyncs it, creates the next generation's empty log, renames the
 * snapshot into place and fsyncs the folder: a crash at any step leaves either the old
 * snapshot with its log or the new snapshot with its (empty) log. On open, a torn log tail
 * (a record cut by the crash) is truncated away.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  ftruncateSync,
  unlinkSync,
  writeSync,
  existsSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { encodeRecord, scanRecords } from "./record-framing";

/** Options of {@link AppendStore.open}. */
export interface AppendStoreOptions {
  readonly dir: string;
  /** File name stem, e.g. "devices". */
  readonly name: string;
  /** Longest time an appended record waits for fsync; at most 1000 ms. Default 500. */
  readonly syncIntervalMs?: number;
  readonly now?: () => number;
}

/** What open() recovered. */
export interface RecoveredStore {
  readonly store: AppendStore;
  /** Snapshot records (without the snap/end markers), then log records, in order. */
  readonly records: unknown[];
  /** Bytes of torn tail removed from the log. */
  readonly truncatedBytes: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** The append-only store. Single writer: one process owns the files. */
export class AppendStore {
  #fd: number;
  #gen: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #logBytes: number;
  #records: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  lastCompactionAt: number | null;
  /** Timer flushes that failed (I/O error); the data stays queued. */
  flushErrors = 0;

  private constructor(
    private readonly o: Required<AppendStoreOptions>,
    fd: number,
    gen: number,
    logBytes: number,
    records: number,
    lastCompactionAt: number | null,
  ) {
    this.#fd = fd;
    this.#gen = gen;
    this.#logBytes = logBytes;
    this.#records = records;
    this.lastCompactionAt = lastCompactionAt;
    this.#timer = setInterval(() => {
      try {
        this.flush();
      } catch {
        // Disk full or I/O error: records stay queued and the next tick retries.
        this.flushErrors += 1;
      }
    }, o.syncIntervalMs);
    this.#timer.unref();
  }

  /** Opens (or creates) the store and replays it. Throws when the snapshot is unreadable. */
  static open(options: AppendStoreOptions): RecoveredStore {
    const o: Required<AppendStoreOptions> = { syncIntervalMs: 500, now: Date.now, ...options };
    if (!(o.syncIntervalMs > 0 && o.syncIntervalMs <= 1000))
      throw new RangeError("syncIntervalMs must be in (0, 1000]");
    const snapPath = join(o.dir, `${o.name}.snap`);
    const records: unknown[] = [];
    let gen = 0;
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
      gen = head.gen;
      lastCompactionAt = typeof head.at === "number" ? head.at : null;
      for (let i = 1; i <= n; i++) records.push(scan.records[i]);
    }
    const logPath = join(o.dir, `${o.name}.${gen}.log`);
    let truncatedBytes = 0;
    let logBytes = 0;
    let logRecords = 0;
    if (existsSync(logPath)) {
      const bytes = readFileSync(logPath);
      const scan = scanRecords(bytes);
      // A loop, not push(...records): a long log would exceed the engine's argument limit.
      for (const record of scan.records) records.push(record);
      logRecords = scan.records.length;
      logBytes = scan.validBytes;
      if (scan.validBytes < bytes.length) {
        truncatedBytes = bytes.length - scan.validBytes;
        const fd = openSync(logPath, "r+");
        try {
          ftruncateSync(fd, scan.validBytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    const fd = openSync(logPath, "a", 0o600);
    // Stale files of an interrupted compaction: another generation's log, our temp snapshots.
    const logName = new RegExp(`^${o.name}\\.(\\d+)\\.log$`);
    for (const f of readdirSync(o.dir)) {
      const m = logName.exec(f);
      if ((m && Number(m[1]) !== gen) || (f.startsWith(`.${o.name}.snap.`) && f.endsWith(".tmp")))
        unlinkSync(join(o.dir, f));
    }
    fsyncDir(o.dir);
    return { store: new AppendStore(o, fd, gen, logBytes, logRecords, lastCompactionAt), records, truncatedBytes };
  }

  /** Queues one record; it reaches the disk at the next flush (≤ syncIntervalMs). */
  append(record: unknown): void {
    if (this.#closed) throw new Error("device store is closed");
    const buf = encodeRecord(record);
    this.#pending.push(buf);
    this.#pendingBytes += buf.length;
    this.#records += 1;
    // Bound memory under a burst: write (not yet sync) once a few MiB are queued.
    if (this.#pendingBytes > 4 * 1024 * 1024) this.#write();
  }

  #write(): void {
    if (this.#pending.length === 0) return;
    const buf = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    writeAll(this.#fd, buf);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#logBytes += buf.length;
    this.#dirty = true;
  }

  #dirty = false;

  /** Writes queued records and fdatasyncs the log. */
  flush(): void {
    if (this.#closed) return;
    this.#write();
    if (this.#dirty) {
      fdatasyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  /** Bytes in the current log. */
  get logBytes(): number {
    return this.#logBytes + this.#pendingBytes;
  }

  /** Records in the current log. */
  get records(): number {
    return this.#records;
  }

  /**
   * Replaces snapshot + log with a new snapshot of `records` (the complete current state) and
   * an empty log of the next generation.
   */
  compact(records: Iterable<unknown>): void {
    if (this.#closed) throw new Error("device store is closed");
    this.flush();
    const next = this.#gen + 1;
    const at = this.o.now();
    const tmp = join(this.o.dir, `.${this.o.name}.snap.${randomBytes(6).toString("hex")}.tmp`);
    const sfd = openSync(tmp, "wx", 0o600);
    let n = 0;
    try {
      writeAll(sfd, encodeRecord({ t: "snap", gen: next, at }));
      let batch: Buffer[] = [];
      let size = 0;
      for (const r of records) {
        const b = encodeRecord(r);
        batch.push(b);
        size += b.length;
        n += 1;
        if (size > 1024 * 1024) {
          writeAll(sfd, Buffer.concat(batch));
          batch = [];
          size = 0;
        }
      }
      batch.push(encodeRecord({ t: "end", n }));
      writeAll(sfd, Buffer.concat(batch));
      fsyncSync(sfd);
    } catch (error) {
      closeSync(sfd);
      unlinkSync(tmp);
      throw error;
    }
    closeSync(sfd);
    const nextLog = join(this.o.dir, `${this.o.name}.${next}.log`);
    const nfd = openSync(nextLog, "w", 0o600);
    fsyncSync(nfd);
    renameSync(tmp, join(this.o.dir, `${this.o.name}.snap`));
    fsyncDir(this.o.dir);
    closeSync(this.#fd);
    unlinkSync(join(this.o.dir, `${this.o.name}.${this.#gen}.log`));
    this.#fd = nfd;
    this.#gen = next;
    this.#logBytes = 0;
    this.#records = 0;
    this.lastCompactionAt = at;
  }

  /** Size of the snapshot file (0 when none). */
  snapshotBytes(): number {
    try {
      return statSync(join(this.o.dir, `${this.o.name}.snap`)).size;
    } catch {
      return 0;
    }
  }

  /** Flushes and closes; later appends throw. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    closeSync(this.#fd);
  }
}
