// CPU time and memory of another process, from Linux /proc (so a child's figures are its own).
import { readFileSync } from "node:fs";

/** User + system CPU milliseconds of `pid` (not its children). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: peak resident). */
export function memBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)\s*kB/.exec(line ?? "")?.[1] ?? 0) * 1024;
}

/** CPU share of one core between two readings. */
export class CpuMeter {
  #cpu0: number;
  #t0: number;
  constructor(private readonly pid: number) {
    this.#cpu0 = cpuMs(pid);
    this.#t0 = performance.now();
  }
  /** Cores used since the last reset (1.0 = one core busy all the time). */
  cores(): number {
    return (cpuMs(this.pid) - this.#cpu0) / (performance.now() - this.#t0);
  }
  reset(): void {
    this.#cpu0 = cpuMs(this.pid);
    this.#t0 = performance.now();
  }
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
