"use client";
import { useEffect, useState } from "react";
import { IDLE_TIMEOUT_MAX_SECONDS, IDLE_TIMEOUT_MIN_SECONDS } from "@veil/protocol";
import { Alert } from "../../components/alert";
import { useStepUp } from "../../components/step-up";
import * as api from "../../endpoints";
import { useTask } from "../../hooks/use-task";
import { refreshMe } from "../../session-store";

const CHOICES: readonly { seconds: number; label: string }[] = [
  { seconds: 1800, label: "30 minutes" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 4 * 3600, label: "4 hours" },
  { seconds: 8 * 3600, label: "8 hours" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 7 * 86_400, label: "7 days" },
  { seconds: 30 * 86_400, label: "30 days" },
].filter((c) => c.seconds >= IDLE_TIMEOUT_MIN_SECONDS && c.seconds <= IDLE_TIMEOUT_MAX_SECONDS);

function label(seconds: number): string {
  return CHOICES.find((c) => c.seconds === seconds)?.label ?? `${Math.round(seconds / 60)} minutes`;
}

/** Per-account idle timeout, 30 minutes to 30 days; activity extends a session up to the 30-day cap. */
export function IdleTimeoutSection({ current }: { current: number }) {
  const [value, setValue] = useState(current);
  useEffect(() => setValue(current), [current]);
  const [notice, setNotice] = useState<string | null>(null);
  const task = useTask();
  // It applies to every live session of the account: a stolen token alone must not stretch them.
  const withStepUp = useStepUp();
  const options = CHOICES.some((c) => c.seconds === current)
    ? CHOICES
    : [...CHOICES, { seconds: current, label: label(current) }].sort((a, b) => a.seconds - b.seconds);
  return (
    <section className="card" aria-labelledby="idle-title">
      <h2 id="idle-title">Idle timeout</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setNotice(null);
          void task
            .run(async () => {
              const r = await withStepUp(() => api.setIdleTimeout({ seconds: value }));
              await refreshMe();
              return r;
            })
            .then(
              (r) =>
                r &&
                setNotice(
                  `Your sessions, this one included, now end after ${label(r.idleTimeoutSeconds)} without activity (and after 30 days in any case).`,
                ),
            );
        }}
      >
        <div className="field">
          <label htmlFor="idle">Sign me out after this long without activity</label>
          <select id="idle" name="idle-timeout" value={value} onChange={(e) => setValue(Number(e.target.value))}>
            {options.map((c) => (
              <option key={c.seconds} value={c.seconds}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        <Alert>{task.error}</Alert>
        <Alert kind="success">{notice}</Alert>
        <div className="actions">
          <button type="submit" disabled={task.running || value === current}>
            Save
          </button>
        </div>
      </form>
    </section>
  );
}
