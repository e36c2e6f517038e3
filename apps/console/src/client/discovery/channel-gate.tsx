"use client";
import type { ReactNode } from "react";
import type { TRole } from "@veil/protocol";
import type { InstanceChannel } from "../instances/e2e-channel";
import type { InstanceSession } from "../instances/use-instance-session";

/**
 * Renders `children` with the open E2E channel and the companion-enforced role, or says why
 * there is no channel yet (connecting, offline, refused). Shared by the discovery and vault pages.
 */
export function ChannelGate({
  site,
  children,
}: {
  site: InstanceSession;
  children: (open: InstanceChannel, role: TRole) => ReactNode;
}) {
  const c = site.channel;
  if (c.status === "open") return <>{children(c.channel, c.hello.role)}</>;
  return (
    <section className="card" aria-label="Secure session">
      <p data-testid="session-state" role="status">
        {c.status === "connecting"
          ? "Opening a secure session with the companion…"
          : !site.online
            ? "The companion is offline; this page needs it online."
            : (c.message ?? "No secure session yet.")}
      </p>
    </section>
  );
}
