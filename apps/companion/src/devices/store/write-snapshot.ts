/**
 * Writes a snapshot file of the device store (append-store.ts): {t:"snap", gen, at} · records… ·
 * {t:"end", n}, fsync'd, at a temp path the caller renames into place. Two ways:
 *
 *  - `writeSnapshotSync`: in one go (store close, tests).
 *  - `writeSnapshotSliced`: in time slices of `sliceMs`, yielding to the event loop between
 *    slices and writing with async I/O, so a snapshot of 10,000 devices never stalls inform
 *    ingestion. The records come from a generator that is advanced a little per slice; its
 *    first step runs before this function first awaits, so a generator that copies what it
 *    walks on its first step sees the state of the moment the caller rotated the log.
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { encodeRecord } from "./record-framing";

/** Batches up to this many bytes before a write. */
const BATCH_BYTES = 1024 * 1024;

/** Writes all of `buf` to a synchronous fd. */
export function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Writes the snapshot of generation `gen` to `path` (created, 0600) and fsyncs it. */
export function writeSnapshotSync(path: string, gen: number, at: number, records: Iterable<unknown>): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeAll(fd, encodeRecord({ t: "snap", gen, at }));
    let batch: Buffer[] = [];
    let size = 0;
    let n = 0;
    for (const r of records) {
      const b = encodeRecord(r);
      batch.push(b);
      size += b.length;
      n += 1;
      if (size > BATCH_BYTES) {
        writeAll(fd, Buffer.concat(batch));
        batch = [];
        size = 0;
      }
    }
    batch.push(encodeRecord({ t: "end", n }));
    writeAll(fd, Buffer.concat(batch));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw error;
  }
  closeSync(fd);
}

/** Options of {@link writeSnapshotSliced}. */
export interface SlicedWriteOptions {
  /** Longest stretch of synchronous work (encoding records) between yields. Default 4 ms. */
  readonly sliceMs?: number;
  /** Checked between slices: true abandons the write (the temp file is removed). */
  readonly aborted?: () => boolean;
}

/** Thrown when `aborted()` turned true mid-write. */
export class SnapshotAbortedError extends Error {
  constructor() {
    super("snapshot write abandoned");
    this.name = "SnapshotAbortedError";
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Like writeSnapshotSync, in slices between other work; resolves once the file is fsync'd. */
export async function writeSnapshotSliced(
  path: string,
  gen: number,
  at: number,
  records: Iterable<unknown>,
  options: SlicedWriteOptions = {},
): Promise<void> {
  const sliceMs = options.sliceMs ?? 4;
  const it = records[Symbol.iterator]();
  // First slice before any await (see the module comment): the generator takes its copies now.
  let batch: Buffer[] = [encodeRecord({ t: "snap", gen, at })];
  let size = batch[0]?.length ?? 0;
  let n = 0;
  let done = false;
  const slice = (): void => {
    const end = performance.now() + sliceMs;
    while (size <= BATCH_BYTES) {
      const step = it.next();
      if (step.done === true) {
        done = true;
        batch.push(encodeRecord({ t: "end", n }));
        return;
      }
      const b = encodeRecord(step.value);
      batch.push(b);
      size += b.length;
      n += 1;
      if ((n & 15) === 0 && performance.now() >= end) return;
    }
  };
  slice();
  const fh = await open(path, "wx", 0o600);
  try {
    for (;;) {
      if (options.aborted?.() === true) throw new SnapshotAbortedError();
      if (batch.length > 0) {
        await fh.write(Buffer.concat(batch));
        batch = [];
        size = 0;
      } else await nextTurn();
      if (done) break;
      slice();
    }
    await fh.sync();
  } catch (error) {
    await fh.close();
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await fh.close();
}
