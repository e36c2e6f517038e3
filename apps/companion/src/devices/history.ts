/**
 * Bounded per-device history: one slot per minute for 24 h (1,440 slots, a ring indexed by
 * minute number), with CPU and memory in percent and traffic in bytes per second. A slot whose
 * stored minute is not the one asked for is empty (the device was silent).
 */
export const HISTORY_MINUTES = 1440;
const MINUTE = 60_000;

/** One closed minute of a device. */
export interface MinuteSample {
  /** Minute number: floor(ms / 60,000). */
  readonly m: number;
  readonly cpu: number;
  readonly mem: number;
  readonly rx: number;
  readonly tx: number;
}

/**
 * Traffic rates are kept on a 16-bit logarithmic scale, `round(log1p(rate) · RATE_SCALE)`, from 0
 * to RATE_MAX bytes/s (80 Tbit/s): a stored rate is within 0.023 % of the one measured, far
 * finer than a chart can show, in half the bytes of a float32.
 */
const RATE_MAX = 1e13;
const RATE_SCALE = 0xffff / Math.log1p(RATE_MAX);
const encodeRate = (bps: number): number =>
  Number.isFinite(bps) && bps > 0 ? Math.round(Math.log1p(Math.min(bps, RATE_MAX)) * RATE_SCALE) : 0;
const decodeRate = (code: number): number => Math.expm1(code / RATE_SCALE);
const tenths = (pct: number): number => (Number.isFinite(pct) ? Math.round(Math.min(100, Math.max(0, pct)) * 10) : 0);

/** Lanes of one slot: CPU and memory in tenths of a percent (CPU EMPTY: no sample), rx, tx. */
const LANES = 4;
const EMPTY = 0xffff;

/**
 * The ring of one device (allocated on first sample): 1,440 slots of four u16 lanes, 11.25 KiB
 * per device (10,000 devices: 110 MiB; it was 23 KiB with an Int32 minute and float32 rates).
 * The ring holds the 1,440 minutes up to the newest one stored; minutes skipped when it moves on
 * are cleared, so a slot never shows a sample from a day before.
 */
export class DeviceHistory {
  readonly #slots = new Uint16Array(HISTORY_MINUTES * LANES).fill(EMPTY);
  /** Newest minute stored (0: none yet). */
  #newest = 0;

  /** Stores a sample (replacing whatever the slot held 24 h ago); a sample older than the ring is dropped. */
  put(s: MinuteSample): void {
    const m = s.m;
    if (!(m > 0) || !Number.isInteger(m) || m <= this.#newest - HISTORY_MINUTES) return;
    const slots = this.#slots;
    if (m > this.#newest) {
      // Clear the minutes between the newest and this one (at most a whole day).
      const from = Math.max(this.#newest + 1, m - HISTORY_MINUTES + 1);
      for (let k = from; k < m; k++) slots[(k % HISTORY_MINUTES) * LANES] = EMPTY;
      this.#newest = m;
    }
    const at = (m % HISTORY_MINUTES) * LANES;
    slots[at] = tenths(s.cpu);
    slots[at + 1] = tenths(s.mem);
    slots[at + 2] = encodeRate(s.rx);
    slots[at + 3] = encodeRate(s.tx);
  }

  /** The sample of minute `m`, if held. */
  get(m: number): MinuteSample | undefined {
    if (!(m > 0) || m > this.#newest || m <= this.#newest - HISTORY_MINUTES) return undefined;
    const at = (m % HISTORY_MINUTES) * LANES;
    const slots = this.#slots;
    const cpu = slots[at] ?? EMPTY;
    if (cpu === EMPTY) return undefined;
    return {
      m,
      cpu: cpu / 10,
      mem: (slots[at + 1] ?? 0) / 10,
      rx: decodeRate(slots[at + 2] ?? 0),
      tx: decodeRate(slots[at + 3] ?? 0),
    };
  }

  /** Every sample within the 24 h before `nowMs`, oldest first. */
  samples(nowMs: number): MinuteSample[] {
    const end = Math.floor(nowMs / MINUTE);
    const out: MinuteSample[] = [];
    for (let m = end - HISTORY_MINUTES + 1; m <= end; m++) {
      const s = this.get(m);
      if (s) out.push(s);
    }
    return out;
  }

  /**
   * A series over the last `minutes` before `nowMs` in at most `maxPoints` points: each point
   * averages the samples in its step; `null` where there were none.
   */
  series(
    nowMs: number,
    minutes: number,
    maxPoints: number,
    open?: MinuteSample,
  ): {
    start: number;
    stepMs: number;
    cpu: (number | null)[];
    memoryPct: (number | null)[];
    rxBps: (number | null)[];
    txBps: (number | null)[];
  } {
    const stepMin = Math.max(1, Math.ceil(minutes / maxPoints));
    const points = Math.ceil(minutes / stepMin);
    const endMin = Math.floor(nowMs / MINUTE);
    const firstMin = endMin - points * stepMin + 1;
    const out = {
      start: firstMin * MINUTE,
      stepMs: stepMin * MINUTE,
      cpu: [] as (number | null)[],
      memoryPct: [] as (number | null)[],
      rxBps: [] as (number | null)[],
      txBps: [] as (number | null)[],
    };
    for (let p = 0; p < points; p++) {
      let n = 0;
      let cpu = 0;
      let mem = 0;
      let rx = 0;
      let tx = 0;
      for (let k = 0; k < stepMin; k++) {
        const m = firstMin + p * stepMin + k;
        const s = open?.m === m ? open : this.get(m);
        if (!s) continue;
        n++;
        cpu += s.cpu;
        mem += s.mem;
        rx += s.rx;
        tx += s.tx;
      }
      const r = (v: number): number => Math.round(v * 10) / 10;
      out.cpu.push(n ? r(cpu / n) : null);
      out.memoryPct.push(n ? r(mem / n) : null);
      out.rxBps.push(n ? Math.round(rx / n) : null);
      out.txBps.push(n ? Math.round(tx / n) : null);
    }
    return out;
  }
}
