"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { ZDeviceJobEventSchema, type TDeviceJobEvent, type TDeviceJobProgress } from "@veil/protocol";
import { errorMessage } from "../api";
import type { Stream, StreamHandlers } from "../instances/e2e-channel";

/** A per-device job (`discovery.adopt` or `vault.generate`) as the page shows it. */
export interface DeviceJobState {
  readonly status: "idle" | "starting" | "running" | "done" | "failed";
  readonly rows: readonly TDeviceJobProgress[];
  readonly counts: TDeviceJobEvent["counts"] | null;
  readonly error: string | null;
}

const IDLE: DeviceJobState = { status: "idle", rows: [], counts: null, error: null };

/** Starts the subscription with the given handlers (the caller picks the request and its body). */
export type JobStarter = (
  schema: typeof ZDeviceJobEventSchema,
  handlers: StreamHandlers<TDeviceJobEvent>,
) => Promise<Stream>;

/** Words for the stable per-device error codes. */
export const JOB_ERROR_TEXT: Record<NonNullable<TDeviceJobProgress["error"]>, string> = {
  out_of_scope: "outside the site's allowed ranges",
  unreachable: "not reachable over HTTPS",
  certificate_changed: "the device certificate changed since it was pinned — nothing was sent",
  mac_mismatch: "another device answered at this address",
  login_failed: "the device refused the credentials",
  locked_out: "the device locked the account",
  device_error: "the device reported an error",
  vault_locked: "the vault is locked",
  vault_entry_unusable: "the vault entry cannot be used for this device",
  several_accounts: "skipped: the device has several accounts",
  no_target: "the companion has no site key or inform URL to install",
  inventory_refused:
    "the site's inventory cannot take this device (full, a Veil device has this MAC, or it is adopted and was not pinned before)",
};

/**
 * Runs one per-device job over the E2E session and keeps its progress rows (latest per MAC)
 * and counts as the companion streams them (`adoption.progress`, `vault.generate.progress`).
 */
export function useDeviceJob() {
  const [state, setState] = useState<DeviceJobState>(IDLE);
  const stream = useRef<Stream | null>(null);
  const rows = useRef(new Map<string, TDeviceJobProgress>());

  useEffect(
    () => () => {
      stream.current?.cancel();
      stream.current = null;
    },
    [],
  );

  const run = useCallback(async (starter: JobStarter): Promise<void> => {
    stream.current?.cancel();
    rows.current = new Map();
    setState({ ...IDLE, status: "starting" });
    try {
      stream.current = await starter(ZDeviceJobEventSchema, {
        onEvent: (e) => {
          for (const r of e.results) rows.current.set(r.mac, r);
          const list = [...rows.current.values()];
          setState((s) => ({ ...s, rows: list, counts: e.counts, status: e.done ? "done" : "running" }));
        },
        onEnd: (reason) => {
          stream.current = null;
          setState((s) =>
            s.status === "done" ? s : { ...s, status: "failed", error: `The progress stream ended early (${reason}).` },
          );
        },
      });
      setState((s) => (s.status === "starting" ? { ...s, status: "running" } : s));
    } catch (error) {
      setState({ ...IDLE, status: "failed", error: errorMessage(error) });
    }
  }, []);

  const reset = useCallback(() => {
    stream.current?.cancel();
    stream.current = null;
    setState(IDLE);
  }, []);

  return { state, run, reset };
}
