"use client";
import { useEffect, useRef, useState } from "react";
import type { TCompanionHello, TGrantBundle } from "@veil/protocol";
import { errorMessage } from "../api";
import type { AccountKeyPairs } from "../account-keys";
import { InstanceChannel } from "./e2e-channel";

export type ChannelState =
  | { readonly status: "idle"; readonly message: string | null }
  | { readonly status: "connecting" }
  | { readonly status: "open"; readonly hello: TCompanionHello; readonly channel: InstanceChannel }
  | { readonly status: "closed"; readonly message: string };

/** This account holds no usable grant on the instance: a session cannot be opened. */
export class NoGrantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoGrantError";
  }
}

/** How long to wait before re-opening a session that ended while the companion is online. */
const RETRY_MS = 3000;
/** Round trip measured with an E2E `ping` this often. */
export const PING_EVERY_MS = 3000;

/**
 * Keeps one E2E session with the instance open while `enabled` (the companion is online and a
 * grant bundle is at hand), re-opening it after it ends. The session is closed (keys wiped,
 * relay freed) when the page goes away.
 */
export function useChannel(
  options: {
    instanceId: string;
    accountId: string;
    keys: AccountKeyPairs;
    instanceBoxPublicKey: Uint8Array;
    bundle: () => Promise<TGrantBundle>;
  } | null,
  enabled: boolean,
): ChannelState {
  const [state, setState] = useState<ChannelState>({ status: "idle", message: null });
  const [attempt, setAttempt] = useState(0);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const ready = options !== null;

  useEffect(() => {
    const o = optionsRef.current;
    if (!enabled || !o) {
      setState((s) => (s.status === "idle" ? s : { status: "idle", message: null }));
      return;
    }
    let cancelled = false;
    let channel: InstanceChannel | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    // One retry per attempt, however many paths (close callback, thrown error) report the end.
    const again = () => {
      if (!cancelled && retry === null) retry = setTimeout(() => setAttempt((a) => a + 1), RETRY_MS);
    };
    setState({ status: "connecting" });
    void (async () => {
      try {
        const bundle = await o.bundle();
        if (cancelled) return;
        channel = new InstanceChannel({
          instanceId: o.instanceId,
          accountId: o.accountId,
          accountBoxPrivateKey: o.keys.box.privateKey,
          instanceBoxPublicKey: o.instanceBoxPublicKey,
          bundle,
          onClose: () => {
            if (cancelled) return;
            setState({ status: "closed", message: "The secure session ended. Reconnecting…" });
            again();
          },
        });
        const hello = await channel.open();
        if (cancelled) return channel.close();
        setState({ status: "open", hello, channel });
      } catch (error) {
        if (cancelled) return;
        setState({ status: "closed", message: errorMessage(error) });
        // Without a grant there is nothing to retry with; anything else may be transient.
        if (!(error instanceof NoGrantError)) again();
      }
    })();
    return () => {
      cancelled = true;
      if (retry) clearTimeout(retry);
      channel?.close();
    };
  }, [enabled, ready, attempt]);

  return state;
}
