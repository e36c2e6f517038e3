"use client";
import { useEffect, useState } from "react";

/**
 * Indeterminate progress with elapsed time: hash-wasm's Argon2id reports no progress, so the
 * honest indicator is "working, for this long". Announced politely to screen readers.
 */
export function Progress({ phase, startedAt }: { phase: string | null; startedAt: number | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (startedAt === null) return;
    const t = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(t);
  }, [startedAt]);
  if (startedAt === null) return null;
  const seconds = Math.max(0, (now - startedAt) / 1000).toFixed(1);
  return (
    <div className="progress" role="status" aria-live="polite" data-testid="progress">
      <progress aria-label={phase ?? "Working"} />
      <span>
        {phase ?? "Working"}… <span className="muted">{seconds} s</span>
      </span>
    </div>
  );
}
