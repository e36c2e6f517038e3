"use client";
import { AboutCard } from "./about-card";
import { GrantsCard } from "./grants-card";
import { InstanceFrame, type InstancePageProps } from "./instance-frame";
import { RevokeCard } from "./revoke-card";
import { RotateCard } from "./rotate-card";
import { shownName } from "./served-instance";
import { SessionCard } from "./session-card";
import { SystemInfoCard } from "./system-info-card";
import { useRoundTrip } from "./use-round-trip";
import { LastKnownCard } from "../snapshots/last-known-card";

function Overview({ session, site }: InstancePageProps) {
  const { instance, verification, verified, channel, open, load } = site;
  const rtt = useRoundTrip(open);
  if (!instance) return null;
  const admin = session.me.user.role === "admin";
  const canRotate = channel.status === "open" && channel.hello.role === "admin";
  return (
    <>
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
          <LastKnownCard session={session} site={site} />
          {canRotate ? <RotateCard channel={open} verified={verified} /> : null}
          <GrantsCard
            session={session}
            instance={instance}
            verified={verified}
            adminChannel={canRotate && !instance.revokedAt ? open : null}
          />
        </>
      ) : null}
      {admin && !instance.revokedAt ? (
        <RevokeCard instance={instance} name={shownName(instance, verification).name} onDone={load} />
      ) : null}
    </>
  );
}

export function InstanceView({ id }: { id: string }) {
  return (
    <InstanceFrame id={id} tab="overview">
      {(props) => <Overview {...props} />}
    </InstanceFrame>
  );
}
