/**
 * Minute aggregation of a device's reports: CPU and memory averaged, traffic as a rate from
 * counter deltas, summed in the device's open bucket until the minute closes.
 */
import type { TDeviceState } from "../protocol";
import type { MinuteSample } from "./history";
import type { DeviceEntry } from "./inventory-types";

const sumCounters = (s: TDeviceState): { rx: number; tx: number } => {
  let rx = 0;
  let tx = 0;
  for (const i of s.interfaces) {
    rx += i.rxBytes;
    tx += i.txBytes;
  }
  return { rx, tx };
};

/** Adds one report to the device's bucket for minute `m` (opened when none). */
export function addToMinute(d: DeviceEntry, state: TDeviceState, now: number, m: number): void {
  const b = (d.bucket ??= { m, cpu: 0, mem: 0, n: 0, rx: 0, tx: 0, ms: 0 });
  b.cpu += state.cpu;
  b.mem += state.memory.totalBytes > 0 ? (100 * state.memory.usedBytes) / state.memory.totalBytes : 0;
  b.n += 1;
  const c = sumCounters(state);
  if (d.prev && now > d.prev.at && c.rx >= d.prev.rx && c.tx >= d.prev.tx) {
    b.rx += c.rx - d.prev.rx;
    b.tx += c.tx - d.prev.tx;
    b.ms += now - d.prev.at;
  }
  d.prev = { rx: c.rx, tx: c.tx, at: now };
}

/**
 * Bytes per second over `ms`. Counters are what a device reported (up to 2^53 each), so a jump
 * over a millisecond can exceed what a rate may be: it is held at Number.MAX_SAFE_INTEGER, or a
 * made-up device's history would fail its answer's schema.
 */
const rate = (bytes: number, ms: number): number =>
  ms > 0 ? Math.min(Number.MAX_SAFE_INTEGER, Math.round((bytes * 1000) / ms)) : 0;

/** The current, still open minute as a sample (for live charts); undefined when none. */
export function openMinuteSample(d: DeviceEntry): MinuteSample | undefined {
  const b = d.bucket;
  if (!b || b.n === 0) return undefined;
  return {
    m: b.m,
    cpu: Math.round((b.cpu / b.n) * 10) / 10,
    mem: Math.round((b.mem / b.n) * 10) / 10,
    rx: rate(b.rx, b.ms),
    tx: rate(b.tx, b.ms),
  };
}
