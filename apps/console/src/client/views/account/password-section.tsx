"use client";
import { useCallback, useState } from "react";
import { Alert } from "../../components/alert";
import { Field } from "../../components/field";
import { NewPasswordField } from "../../components/new-password-field";
import { Progress } from "../../components/progress";
import { changePassword } from "../../flows/account-actions";
import { useTask } from "../../hooks/use-task";
import { RecoveryKitPanel } from "../recovery-kit-panel";

/** Change password: same keys re-wrapped under the new password; every other session ends. */
export function PasswordSection({ email }: { email: string }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [ok, setOk] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [kit, setKit] = useState<string | null>(null);
  const task = useTask();
  const onVerdict = useCallback((v: boolean) => setOk(v), []);
  if (kit) return <RecoveryKitPanel code={kit} email={email} onDone={() => setKit(null)} />;
  return (
    <section className="card" aria-labelledby="pw-title">
      <h2 id="pw-title">Password</h2>
      <p className="hint">
        Changing it re-locks the same keys under the new password (nothing is lost) and signs out every other session.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setDone(null);
          if (!ok) return task.setError("Choose a stronger new password.");
          if (next !== confirm) return task.setError("The two new passwords differ.");
          void task
            .run((phase) => changePassword(current, next, "keep", phase))
            .then((r) => {
              if (!r) return;
              setCurrent("");
              setNext("");
              setConfirm("");
              setDone(
                `Password changed. ${r.sessionsEnded} other session${r.sessionsEnded === 1 ? " was" : "s were"} signed out.`,
              );
              if (r.recoveryCode) setKit(r.recoveryCode);
            });
        }}
      >
        <Field
          label="Current password"
          name="current-password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <NewPasswordField
          label="New password"
          value={next}
          onChange={setNext}
          onVerdict={onVerdict}
          userInputs={[email]}
        />
        <Field
          label="Repeat the new password"
          name="confirm-new-password"
          type="password"
          autoComplete="new-password"
          required
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        <Progress phase={task.phase} startedAt={task.startedAt} />
        <Alert>{task.error}</Alert>
        <Alert kind="success">{done}</Alert>
        <div className="actions">
          <button className="primary" type="submit" disabled={task.running}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
