import type { Clock } from "../../src/clock";

/** A clock whose timers run only when the test advances time (intervals are not needed here). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** Milliseconds until each pending timer fires. */
  pending(): number[];
}

export function manualClock(start = 0): ManualClock {
  let now = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
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
    setInterval: () => 0,
    clearInterval: () => {},
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    pending: () => timers.map((t) => t.at - now),
  };
}
