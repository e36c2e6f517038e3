"use client";
import { useMemo } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import type { Ready } from "./ready-session";
import { checkSignerPin, InstanceTrustError, isSigner, verifyInstance, type VerifiedInstance } from "./trust";

/** The outcome of checking an instance's certificate in this browser; null until it is loaded. */
export type InstanceVerification = { ok: VerifiedInstance } | { error: string } | null;

/**
 * Verifies the instance's certificate once per served certificate; a failure blocks
 * everything E2E.
 */
export function useInstanceVerification(instance: TInstanceSummary | null, session: Ready): InstanceVerification {
  const certKey = instance
    ? JSON.stringify(instance.certificate) + instance.identityPublicKey + instance.boxPublicKey
    : "";
  return useMemo((): InstanceVerification => {
    if (!instance) return null;
    try {
      const v = verifyInstance(instance);
      // The console says we added it: then our own key must have signed it.
      if (instance.adminUserId?.toLowerCase() === session.me.user.id.toLowerCase() && !isSigner(v, session.keys))
        throw new InstanceTrustError(
          "the console says you added this instance, but your key did not sign its certificate",
        );
      checkSignerPin(instance.id, v);
      return { ok: v };
    } catch (error) {
      return { error: errorMessage(error) };
    }
  }, [certKey]);
}
