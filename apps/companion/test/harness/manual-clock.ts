import type { Clock } from "../../src/clock";

/** A clock whose timers and intervals run only when the test advances time. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** Milliseconds until each pending timer fires. */
  pending(): number[];
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  let timers: { at: number; fn: () => void; id: number; every?: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t.id !== h);
    },
    setInterval: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id, every: ms });
      return id;
    },
    clearInterval: (h) => {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) {
        if (t.every !== undefined) timers.push({ ...t, at: t.at + t.every });
        t.fn();
      }
    },
    pending: () => timers.map((t) => t.at - now),
  };
}
