"use client";
import { useMemo } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import { bundleSource } from "./grant-bundle-source";
import type { Ready } from "./ready-session";
import { shownName } from "./served-instance";
import type { VerifiedInstance } from "./trust";
import { useChannel, type ChannelState } from "./use-channel";
import { useInstanceSummary } from "./use-instance-summary";
import { useInstanceVerification, type InstanceVerification } from "./use-instance-verification";

/** Everything an instance page works with: the served summary, its verification, the E2E session. */
export interface InstanceSession {
  /** The served summary (presence, timestamps); always for the page's id (useInstanceSummary). */
  readonly instance: TInstanceSummary | null;
  /** The name to show: the certified one once the certificate verified (shownName). */
  readonly name: { readonly name: string; readonly certified: boolean } | null;
  readonly loadError: string | null;
  /** Refreshes the summary now. */
  readonly load: () => void;
  readonly verification: InstanceVerification;
  /** The certificate checked in this browser; null until checked or when it failed. */
  readonly verified: VerifiedInstance | null;
  readonly channel: ChannelState;
  /** The open channel, or null. */
  readonly open: InstanceChannel | null;
  /** Whether the console reports the companion online (and the instance not revoked). */
  readonly online: boolean;
}

/**
 * Loads the instance, verifies its certificate in this browser and keeps one E2E session open
 * while the companion is online. Every instance page (overview, devices, vault, …) uses it.
 */
export function useInstanceSession(session: Ready, id: string): InstanceSession {
  const { instance, loadError, load } = useInstanceSummary(id);
  const verification = useInstanceVerification(instance, session);
  const verified = verification && "ok" in verification ? verification.ok : null;
  // The session is opened with the instance the certificate names (never the listing's id).
  const channelOptions = useMemo(
    () =>
      verified
        ? {
            instanceId: verified.body.instanceId,
            accountId: session.me.user.id,
            keys: session.keys,
            instanceBoxPublicKey: verified.boxPublicKey,
            bundle: bundleSource(session, verified),
          }
        : null,
    [verified, session.keys],
  );
  const online = Boolean(instance?.presence.online && !instance.revokedAt);
  const channel = useChannel(channelOptions, online);
  const open = channel.status === "open" ? channel.channel : null;
  const name = instance ? shownName(instance, verification) : null;
  return { instance, name, loadError, load, verification, verified, channel, open, online };
}
