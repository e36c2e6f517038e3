"use client";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useTask } from "../hooks/use-task";
import { Alert } from "./alert";
import { Progress } from "./progress";

export type TwoFactorAnswer = { code: string } | { backupCode: string };

/**
 * The second step of a sign-in or a recovery: an authenticator code or a backup code.
 * `check` sends the answer; `onDone` gets its result when it succeeded.
 */
export function TwoFactorForm<T>({
  idPrefix,
  intro,
  check,
  onDone,
  onCancel,
}: {
  /** Prefix of the heading's and the input's ids ("tfa" gives tfa-title and tfa-answer). */
  idPrefix: string;
  intro?: ReactNode;
  check: (answer: TwoFactorAnswer, phase: (label: string) => void) => Promise<T>;
  onDone: (result: T) => void;
  onCancel: () => void;
}) {
  const [mode, setMode] = useState<"totp" | "backup">("totp");
  const [answer, setAnswer] = useState("");
  const task = useTask();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [mode]);
  return (
    <form
      aria-labelledby={`${idPrefix}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        void task
          .run((phase) =>
            check(mode === "totp" ? { code: answer.replace(/\s/g, "") } : { backupCode: answer.trim() }, phase),
          )
          .then((r) => {
            if (r) onDone(r);
          });
      }}
    >
      <h1 id={`${idPrefix}-title`}>Two-factor check</h1>
      {intro}
      <fieldset className="segmented">
        <legend>Use</legend>
        <label>
          <input type="radio" name="mode" checked={mode === "totp"} onChange={() => setMode("totp")} /> Authenticator
          app
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === "backup"} onChange={() => setMode("backup")} /> Backup code
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={`${idPrefix}-answer`}>
          {mode === "totp" ? "6-digit code from your authenticator app" : "Backup code (like ABCD-EFGH-IJKL)"}
        </label>
        <input
          ref={input}
          id={`${idPrefix}-answer`}
          name={mode === "totp" ? "totp" : "backup-code"}
          autoComplete="one-time-code"
          inputMode={mode === "totp" ? "numeric" : "text"}
          pattern={mode === "totp" ? "\\s*\\d{3}\\s*\\d{3}\\s*" : "[A-Za-z2-7\\- ]{12,16}"}
          required
          value={answer}
          onChange={(e) => setAnswer(e.target.value)}
        />
      </div>
      <Progress phase={task.phase} startedAt={task.startedAt} />
      <Alert>{task.error}</Alert>
      <div className="actions">
        <button className="primary" type="submit" disabled={task.running}>
          Verify
        </button>
        <button type="button" onClick={onCancel} disabled={task.running}>
          Start again
        </button>
      </div>
    </form>
  );
}
