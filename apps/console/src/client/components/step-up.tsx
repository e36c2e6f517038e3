"use client";
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api";
import { proveStepUp } from "../flows/account-actions";
import { useTask } from "../hooks/use-task";
import { Alert } from "./alert";
import { Field } from "./field";
import { Progress } from "./progress";

type WithStepUp = <T>(action: () => Promise<T>) => Promise<T>;
const StepUpContext = createContext<WithStepUp | null>(null);

/** Runs `action`; if the console answers step_up_required, asks for the password and retries once. */
export function useStepUp(): WithStepUp {
  const ctx = useContext(StepUpContext);
  if (!ctx) throw new Error("useStepUp outside <StepUpProvider>");
  return ctx;
}

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

export function StepUpProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const ask = useCallback(() => new Promise<void>((resolve, reject) => setPending({ resolve, reject })), []);
  const withStepUp = useCallback<WithStepUp>(
    async (action) => {
      try {
        return await action();
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "step_up_required") throw error;
        await ask();
        return action();
      }
    },
    [ask],
  );
  return (
    <StepUpContext.Provider value={withStepUp}>
      {children}
      {pending ? (
        <StepUpDialog
          onDone={() => {
            pending.resolve();
            setPending(null);
          }}
          onCancel={() => {
            pending.reject(new Error("Cancelled: the action needs your password."));
            setPending(null);
          }}
        />
      ) : null}
    </StepUpContext.Provider>
  );
}

function StepUpDialog({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [password, setPassword] = useState("");
  const task = useTask();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="step-up-title"
      onCancel={(e) => (task.running ? e.preventDefault() : onCancel())}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void task
            .run(async (phase) => {
              await proveStepUp(password, phase);
              return true;
            })
            .then((ok) => {
              if (ok) onDone();
            });
        }}
      >
        <h2 id="step-up-title">Confirm it's you</h2>
        <p>This action is sensitive. Enter your password to continue; it stays in this browser.</p>
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoFocus
        />
        <Progress phase={task.phase} startedAt={task.startedAt} />
        <Alert>{task.error}</Alert>
        <div className="actions">
          <button type="submit" className="primary" disabled={task.running || password === ""}>
            Confirm
          </button>
          <button type="button" onClick={onCancel} disabled={task.running}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
