"use client";
import Link from "next/link";
import { Alert } from "../components/alert";
import type { InstancePageProps } from "../instances/instance-frame";
import { useLastKnownInventory } from "./use-last-known";

/**
 * The Overview's summary of the last-known inventory: the newest snapshot the companion sealed
 * to this account (verified and opened in this browser), with counts by status. While the site
 * is offline it says since when, so the numbers are read as history, not as live state.
 */
export function LastKnownCard({ session, site }: InstancePageProps) {
  const { snapshot, error, loading } = useLastKnownInventory(site, session);
  const instance = site.instance;
  if (!instance) return null;
  const count = (status: string) => snapshot?.devices.filter((d) => d.status === status).length ?? 0;
  const lastSeen = instance.presence.lastSeenAt;
  return (
    <section className="card" aria-labelledby="last-known-title" data-testid="last-known-card">
      <h2 id="last-known-title">Last known inventory</h2>
      <Alert>{error}</Alert>
      {snapshot ? (
        <>
          {site.online ? null : (
            <p role="status" data-testid="last-known-offline">
              Last known, site offline since {lastSeen ? new Date(lastSeen).toLocaleString() : "an unknown time"}.
            </p>
          )}
          <dl className="facts">
            <dt>Taken</dt>
            <dd data-testid="last-known-taken">{new Date(snapshot.takenAt).toLocaleString()}</dd>
            <dt>Devices</dt>
            <dd data-testid="last-known-count">
              {snapshot.devices.length} ({count("online")} online, {count("offline")} offline, {count("pending")}{" "}
              pending)
            </dd>
          </dl>
          <p className="hint">
            Sealed by the companion to every account it holds a verified grant for, and signed by the instance: the
            console stores it but cannot read it. <Link href={`/instances/${instance.id}/devices`}>Devices</Link>
          </p>
        </>
      ) : (
        <p className="muted">{loading ? "Loading…" : error ? null : "No snapshot yet."}</p>
      )}
    </section>
  );
}
