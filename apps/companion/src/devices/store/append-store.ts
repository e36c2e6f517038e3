/**
 * A crash-safe local store: an append-only log of framed records (record-framing.ts) plus a
 * snapshot that periodic compaction rewrites. Files in the state folder, all mode 0600:
 *
 *   <name>.snap        snapshot: {t:"snap", gen, at} · records… · {t:"end", n}
 *   <name>.<g>.log     records appended after the snapshot, g = gen, gen+1, … (usually one)
 *
 * The store's state is the snapshot, then the logs from `gen` up, in order. Appends are buffered
 * and written + fdatasync'd together at most every `syncIntervalMs` (≤ 1 s), so kill -9 loses
 * at most the last unsynced interval. On open, a torn log tail (a record cut by a crash) is
 * truncated away.
 *
 * Compaction first rotates the log: queued records are written and fdatasync'd, appends move
 * to a new empty log `g+1` (fsync'd, folder fsync'd). The snapshot of generation g+1 (the state
 * as of that moment) is then written to a temp file and fsync'd — in one go (`compact`) or in
 * short slices between other work (`compactInBackground`, write-snapshot.ts) — renamed into
 * place, the folder fsync'd, and only then are the logs below g+1 deleted. A crash at any step
 * leaves the old snapshot with all its logs (old and new) or the new snapshot with its log.
 *
 * A background snapshot may also contain changes made while it was written (it walks live
 * state): replay stays correct as long as every record sets state rather than adds to it (the
 * inventory's records do: docs/COMPANION-DEVICES.md), since the new log replays those same
 * changes again after it.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { encodeRecord } from "./record-framing";
import { fsyncDir, logPath, recoverStoreFiles } from "./recover-store-files";
import {
  SnapshotAbortedError,
  writeAll,
  writeSnapshotSliced,
  writeSnapshotSync,
  type SlicedWriteOptions,
} from "./write-snapshot";

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

/** The append-only store. Single writer: one process owns the files. */
export class AppendStore {
  #fd: number;
  /** Generation of the log appends go to. */
  #gen: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #logBytes: number;
  #records: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #dirty = false;
  #compacting: Promise<void> | null = null;
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
    const found = recoverStoreFiles(o.dir, o.name);
    const fd = openSync(logPath(o.dir, o.name, found.logGen), "a", 0o600);
    fsyncDir(o.dir);
    const store = new AppendStore(o, fd, found.logGen, found.logBytes, found.logRecords, found.lastCompactionAt);
    return { store, records: found.records, truncatedBytes: found.truncatedBytes };
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

  /** The background compaction under way, or null. */
  get compacting(): Promise<void> | null {
    return this.#compacting;
  }

  /**
   * Makes every record so far durable in the current log, then moves appends to an empty log of
   * the next generation. Returns that generation: the snapshot to write is the state as of now.
   */
  #rotate(): number {
    this.flush();
    const next = this.#gen + 1;
    const nfd = openSync(logPath(this.o.dir, this.o.name, next), "w", 0o600);
    try {
      fsyncSync(nfd);
      fsyncDir(this.o.dir);
    } catch (error) {
      closeSync(nfd);
      throw error;
    }
    closeSync(this.#fd);
    this.#fd = nfd;
    this.#gen = next;
    this.#logBytes = 0;
    this.#records = 0;
    return next;
  }

  #tempPath(): string {
    return join(this.o.dir, `.${this.o.name}.snap.${randomBytes(6).toString("hex")}.tmp`);
  }

  /** Deletes the logs older than snapshot `gen` (the ones it replaces). */
  #oldLogs(gen: number): string[] {
    const logName = new RegExp(`^${this.o.name}\\.(\\d+)\\.log$`);
    return readdirSync(this.o.dir)
      .filter((f) => Number(logName.exec(f)?.[1] ?? gen) < gen)
      .map((f) => join(this.o.dir, f));
  }

  /**
   * Replaces snapshot + logs with a new snapshot of `records` (the complete current state) and
   * an empty log of the next generation, in one go (blocks while it writes).
   */
  compact(records: Iterable<unknown>): void {
    if (this.#closed) throw new Error("device store is closed");
    if (this.#compacting) throw new Error("a background compaction is running");
    const gen = this.#rotate();
    const at = this.o.now();
    const tmp = this.#tempPath();
    writeSnapshotSync(tmp, gen, at, records);
    renameSync(tmp, join(this.o.dir, `${this.o.name}.snap`));
    fsyncDir(this.o.dir);
    for (const f of this.#oldLogs(gen)) unlinkSync(f);
    this.lastCompactionAt = at;
  }

  /**
   * Compaction that does not block: rotates the log now (a few ms), then writes the snapshot
   * of `records` in slices between other work. `records` must be the state as of this call —
   * in practice a generator that copies what it walks on its first step (write-snapshot.ts).
   * Returns the running compaction if one is under way (then `records` is not used). Closing
   * the store abandons it; the files stay valid either way.
   */
  compactInBackground(records: Iterable<unknown>, options: Omit<SlicedWriteOptions, "aborted"> = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("device store is closed"));
    if (this.#compacting) return this.#compacting;
    const run = async (): Promise<void> => {
      const gen = this.#rotate();
      const at = this.o.now();
      const tmp = this.#tempPath();
      try {
        await writeSnapshotSliced(tmp, gen, at, records, { ...options, aborted: () => this.#closed });
      } catch (error) {
        if (error instanceof SnapshotAbortedError) return; // closed: the rotated chain stays valid
        throw error;
      }
      if (this.#closed) {
        await unlink(tmp);
        return;
      }
      await rename(tmp, join(this.o.dir, `${this.o.name}.snap`));
      fsyncDir(this.o.dir);
      await Promise.all(this.#oldLogs(gen).map((f) => unlink(f)));
      this.lastCompactionAt = at;
    };
    const running = run().finally(() => {
      this.#compacting = null;
    });
    this.#compacting = running;
    return running;
  }

  /** Size of the snapshot file (0 when none). */
  snapshotBytes(): number {
    try {
      return statSync(join(this.o.dir, `${this.o.name}.snap`)).size;
    } catch {
      return 0;
    }
  }

  /** Flushes and closes; later appends throw. A background compaction is abandoned. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    closeSync(this.#fd);
  }
}
