"use client";
import { useCallback, useEffect, useState } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import * as api from "./endpoints";
import { checkServedInstance } from "./served-instance";

const REFRESH_MS = 5000;

/**
 * The instance as the console serves it, refreshed every few seconds; `load` refreshes now. A
 * summary for another instance than `id` is refused: the page drops what it had and shows why.
 */
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
        try {
          setInstance(checkServedInstance(id, r.instance));
          setLoadError(null);
        } catch (error) {
          setInstance(null);
          setLoadError(errorMessage(error));
        }
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
