"use client";
import { useCallback, useEffect, useState } from "react";
import type { ZVaultStatusResultSchema } from "@veil/protocol";
import type { z } from "zod";
import { errorMessage } from "../api";
import type { InstanceChannel } from "../instances/e2e-channel";

export type VaultStatus = z.output<typeof ZVaultStatusResultSchema>;

/** `vault.status` over the E2E session, with a refresh after every change the page makes. */
export function useVaultStatus(open: InstanceChannel) {
  const [status, setStatus] = useState<VaultStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  useEffect(() => {
    let live = true;
    open
      .request("vault.status", {})
      .then((s) => {
        if (!live) return;
        setStatus(s);
        setError(null);
      })
      .catch((e: unknown) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [open, version]);
  return { status, error, refresh, version };
}

/** "none" / "locked" / "unlocked", as the page names the states. */
export function vaultState(s: VaultStatus): "none" | "locked" | "unlocked" {
  if (!s.initialized) return "none";
  return s.unlocked ? "unlocked" : "locked";
}
