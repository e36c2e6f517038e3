import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { open, rename, unlink } from "node:fs/promises";

/**
 * Writes a file atomically with mode 0600: a fresh temp file in the same folder (O_EXCL, so
 * never through a planted symlink), write, fsync, rename over the target, fsync the folder.
 * A crash leaves either the old file or the new one, never a torn or world-readable one.
 */
export function writeSecretFile(path: string, contents: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const data = typeof contents === "string" ? Buffer.from(contents, "utf8") : contents;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * {@link writeSecretFile} off the event loop: the same steps (O_EXCL temp file, write, fsync,
 * rename, fsync the folder) on libuv's thread pool, for files rewritten while requests are
 * being answered.
 */
export async function writeSecretFileAsync(path: string, contents: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(tmp, "wx", 0o600);
  try {
    await file.writeFile(contents);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(tmp);
    throw error;
  }
  await file.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp);
    throw error;
  }
  const folder = await open(dir, "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
