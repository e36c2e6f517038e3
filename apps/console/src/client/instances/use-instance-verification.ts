"use client";
import { useMemo, useState } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import type { Ready } from "./ready-session";
import { verificationKey } from "./served-instance";
import {
  InstanceTrustError,
  isSigner,
  pinSigner,
  signerPinState,
  verifyInstance,
  type VerifiedInstance,
} from "./trust";

/**
 * The outcome of checking an instance's certificate in this browser; null until it is loaded.
 * `unconfirmed`: the certificate verifies, but this browser has never trusted its signer and
 * the user did not sign it themselves: nothing end to end happens until they compare the
 * signer's safety code and `confirm()`.
 */
export type InstanceVerification =
  { ok: VerifiedInstance } | { unconfirmed: VerifiedInstance; confirm: () => void } | { error: string } | null;

/**
 * Verifies the instance's certificate once per served certificate, keys, id and named admin
 * (verificationKey); a failure blocks everything E2E. The signer is trusted on first use only
 * when it is this account's own key; anyone else confirms it first.
 */
export function useInstanceVerification(instance: TInstanceSummary | null, session: Ready): InstanceVerification {
  const [confirmed, setConfirmed] = useState(0);
  // Everything the check below reads: a poll that changes any of it (the id included) is checked again.
  const key = verificationKey(instance);
  return useMemo((): InstanceVerification => {
    if (!instance) return null;
    try {
      const v = verifyInstance(instance);
      const mine = isSigner(v, session.keys);
      // The console says we added it: then our own key must have signed it.
      if (instance.adminUserId?.toLowerCase() === session.me.user.id.toLowerCase() && !mine)
        throw new InstanceTrustError(
          "the console says you added this instance, but your key did not sign its certificate",
        );
      if (signerPinState(instance.id, v) === "pinned") return { ok: v };
      if (mine) {
        pinSigner(instance.id, v);
        return { ok: v };
      }
      return {
        unconfirmed: v,
        confirm: () => {
          pinSigner(instance.id, v);
          setConfirmed((n) => n + 1);
        },
      };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }, [key, confirmed, session.me.user.id, session.keys]);
}
