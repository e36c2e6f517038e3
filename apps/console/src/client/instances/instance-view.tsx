"use client";
import Link from "next/link";
import { useMemo } from "react";
import { Alert } from "../components/alert";
import { Shell } from "../components/shell";
import { AboutCard } from "./about-card";
import { bundleSource } from "./grant-bundle-source";
import { GrantsCard } from "./grants-card";
import { StatusBadge } from "./presence";
import type { Ready } from "./ready-session";
import { RevokeCard } from "./revoke-card";
import { RotateCard } from "./rotate-card";
import { SessionCard } from "./session-card";
import { SystemInfoCard } from "./system-info-card";
import { useChannel } from "./use-channel";
import { useInstanceSummary } from "./use-instance-summary";
import { useInstanceVerification } from "./use-instance-verification";
import { useRoundTrip } from "./use-round-trip";

function InstancePage({ session, id }: { session: Ready; id: string }) {
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
  const rtt = useRoundTrip(open);

  if (loadError && !instance) return <Alert>{loadError}</Alert>;
  if (!instance) return <p className="muted">Loading…</p>;
  const admin = session.me.user.role === "admin";
  const canRotate = channel.status === "open" && channel.hello.role === "admin";
  return (
    <>
      <p>
        <Link href="/instances">← Instances</Link>
      </p>
      <h1>
        {instance.name} <StatusBadge instance={instance} />
      </h1>
      <AboutCard session={session} instance={instance} verification={verification} verified={verified} />
      {verified ? (
        <>
          <SessionCard
            state={channel}
            rtt={rtt}
            idle={
              instance.revokedAt
                ? "Revoked: the companion is disconnected and no session can be opened."
                : instance.enrolledAt
                  ? "Not connected: the companion is offline."
                  : "Waiting for the companion to enroll and connect."
            }
          />
          <SystemInfoCard channel={open} />
          {canRotate ? <RotateCard channel={open} instance={instance} verified={verified} /> : null}
          <GrantsCard session={session} instance={instance} verified={verified} />
        </>
      ) : null}
      {admin && !instance.revokedAt ? <RevokeCard instance={instance} onDone={load} /> : null}
    </>
  );
}

export function InstanceView({ id }: { id: string }) {
  return <Shell>{(session) => <InstancePage session={session} id={id} />}</Shell>;
}
