"use client";
import { useCallback, useRef, useState } from "react";
import { ApiError, errorMessage } from "../api";

export interface TaskState {
  readonly running: boolean;
  /** What is happening now (shown by <Progress>). */
  readonly phase: string | null;
  readonly startedAt: number | null;
  readonly error: string | null;
  /** The console's stable error code when the failure was an ApiError. */
  readonly errorCode: string | null;
}

/**
 * Runs one async action at a time with a phase label, start time and a user-facing error.
 * `run` resolves to the action's result, or undefined if it failed (the error is in state).
 */
export function useTask() {
  const [state, setState] = useState<TaskState>({
    running: false,
    phase: null,
    startedAt: null,
    error: null,
    errorCode: null,
  });
  const busy = useRef(false);
  const phase = useCallback((label: string) => setState((s) => ({ ...s, phase: label })), []);
  const run = useCallback(
    async <T>(action: (phase: (label: string) => void) => Promise<T>): Promise<T | undefined> => {
      if (busy.current) return undefined;
      busy.current = true;
      setState({ running: true, phase: null, startedAt: Date.now(), error: null, errorCode: null });
      try {
        const result = await action(phase);
        setState({ running: false, phase: null, startedAt: null, error: null, errorCode: null });
        return result;
      } catch (error) {
        setState({
          running: false,
          phase: null,
          startedAt: null,
          error: errorMessage(error),
          errorCode: error instanceof ApiError ? error.code : null,
        });
        return undefined;
      } finally {
        busy.current = false;
      }
    },
    [phase],
  );
  const setError = useCallback((error: string | null) => setState((s) => ({ ...s, error, errorCode: null })), []);
  return { ...state, run, setError };
}
