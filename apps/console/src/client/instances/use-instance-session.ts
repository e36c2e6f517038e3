"use client";
import { useMemo } from "react";
import type { TInstanceSummary } from "@veil/protocol";
import type { InstanceChannel } from "./e2e-channel";
import { bundleSource } from "./grant-bundle-source";
import type { Ready } from "./ready-session";
import type { VerifiedInstance } from "./trust";
import { useChannel, type ChannelState } from "./use-channel";
import { useInstanceSummary } from "./use-instance-summary";
import { useInstanceVerification, type InstanceVerification } from "./use-instance-verification";

/** Everything an instance page works with: the served summary, its verification, the E2E session. */
export interface InstanceSession {
  readonly instance: TInstanceSummary | null;
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
  const channelOptions = useMemo(
    () =>
      instance && verified
        ? {
            instanceId: instance.id,
            accountId: session.me.user.id,
            keys: session.keys,
            instanceBoxPublicKey: verified.boxPublicKey,
            bundle: bundleSource(session, instance, verified),
          }
        : null,
    [verified, session.keys],
  );
  const online = Boolean(instance?.presence.online && !instance.revokedAt);
  const channel = useChannel(channelOptions, online);
  const open = channel.status === "open" ? channel.channel : null;
  return { instance, loadError, load, verification, verified, channel, open, online };
}
