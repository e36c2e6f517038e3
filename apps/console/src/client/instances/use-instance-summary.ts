"use client";
import { useCallback, useEffect, useState } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import * as api from "./endpoints";

const REFRESH_MS = 5000;

/** The instance as the console serves it, refreshed every few seconds; `load` refreshes now. */
export function useInstanceSummary(id: string): {
  instance: TInstanceSummary | null;
  loadError: string | null;
  load: () => void;
} {
  const [instance, setInstance] = useState<TInstanceSummary | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.getInstance(id).then(
      (r) => {
        setInstance(r.instance);
        setLoadError(null);
      },
      (e: unknown) => setLoadError(errorMessage(e)),
    );
  }, [id]);
  useEffect(() => {
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);
  return { instance, loadError, load };
}
