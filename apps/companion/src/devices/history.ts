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

/** The ring of one device (allocated on first sample). */
export class DeviceHistory {
  // 16 bytes per slot, ~23 KiB per device for a full day: percentages in tenths (u16),
  // rates as float32 (7 significant digits is plenty for a chart).
  readonly #minute = new Int32Array(HISTORY_MINUTES);
  readonly #cpu = new Uint16Array(HISTORY_MINUTES);
  readonly #mem = new Uint16Array(HISTORY_MINUTES);
  readonly #rx = new Float32Array(HISTORY_MINUTES);
  readonly #tx = new Float32Array(HISTORY_MINUTES);

  /** Stores a sample (replacing whatever the slot held 24 h ago). */
  put(s: MinuteSample): void {
    const i = s.m % HISTORY_MINUTES;
    this.#minute[i] = s.m;
    this.#cpu[i] = Math.round(Math.min(100, Math.max(0, s.cpu)) * 10);
    this.#mem[i] = Math.round(Math.min(100, Math.max(0, s.mem)) * 10);
    this.#rx[i] = s.rx;
    this.#tx[i] = s.tx;
  }

  /** The sample of minute `m`, if held. */
  get(m: number): MinuteSample | undefined {
    const i = m % HISTORY_MINUTES;
    if (m <= 0 || this.#minute[i] !== m) return undefined;
    return {
      m,
      cpu: (this.#cpu[i] ?? 0) / 10,
      mem: (this.#mem[i] ?? 0) / 10,
      rx: this.#rx[i] ?? 0,
      tx: this.#tx[i] ?? 0,
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
