"use client";
import type { TInstanceSummary } from "@veil/protocol";
import { Alert } from "../components/alert";
import { useStepUp } from "../components/step-up";
import { useTask } from "../hooks/use-task";
import * as api from "./endpoints";

/** Revokes the instance for good (admin, step-up); `name`: the name the page shows (its certified one). */
export function RevokeCard({
  instance,
  name,
  onDone,
}: {
  instance: TInstanceSummary;
  name: string;
  onDone: () => void;
}) {
  const withStepUp = useStepUp();
  const task = useTask();
  return (
    <section className="card" aria-labelledby="revoke-title">
      <h2 id="revoke-title">Revoke</h2>
      <p>
        Revoking disconnects the companion within seconds and refuses it for good: its token, keys and grants stop
        working. This cannot be undone.
      </p>
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button
          type="button"
          disabled={task.running}
          onClick={() => {
            if (!window.confirm(`Revoke “${name}” for good?`)) return;
            void task.run(() => withStepUp(() => api.revokeInstance(instance.id))).then((r) => r && onDone());
          }}
        >
          Revoke instance
        </button>
      </div>
    </section>
  );
}
