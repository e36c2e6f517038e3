import { arch, freemem, hostname, loadavg, platform, release, totalmem, uptime } from "node:os";
import type { TSystemInfoResult, TSystemSnapshot } from "../../protocol";
import { COMPANION_VERSION } from "../../version";

function memory(): TSystemInfoResult["memory"] {
  return { totalBytes: totalmem(), freeBytes: freemem(), rssBytes: process.memoryUsage.rss() };
}

function load(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c];
}

/** `system.info`: hostname, OS, Node version, uptime, load, memory, companion version. */
export function readSystemInfo(): TSystemInfoResult {
  return {
    hostname: hostname().slice(0, 255),
    platform: platform(),
    release: release().slice(0, 128),
    arch: arch(),
    nodeVersion: process.version,
    uptimeSeconds: Math.floor(uptime()),
    loadAverage: load(),
    memory: memory(),
    companionVersion: COMPANION_VERSION,
  };
}

/** One `system.snapshot` event of a `system.watch` stream. */
export function readSystemSnapshot(now: number): TSystemSnapshot {
  return { at: now, uptimeSeconds: Math.floor(uptime()), loadAverage: load(), memory: memory() };
}
