"use client";
import { useCallback, useEffect, useState } from "react";
import type { TSystemInfoResult } from "@veil/protocol";
import { Alert } from "../components/alert";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "./e2e-channel";
import { bytes, duration } from "./format-units";

/** The companion's system info, fetched over the E2E channel. */
export function SystemInfoCard({ channel }: { channel: InstanceChannel | null }) {
  const [info, setInfo] = useState<TSystemInfoResult | null>(null);
  const task = useTask();
  const load = useCallback(() => {
    if (channel) void task.run(() => channel.request("system.info", {})).then((r) => r && setInfo(r));
  }, [channel, task.run]);
  useEffect(() => load(), [load]);
  return (
    <section className="card" aria-labelledby="sys-title">
      <h2 id="sys-title">System</h2>
      <Alert>{task.error}</Alert>
      {info ? (
        <dl className="facts" data-testid="system-info">
          <dt>Host name</dt>
          <dd data-testid="sys-hostname">{info.hostname}</dd>
          <dt>System</dt>
          <dd>
            {info.platform} {info.release} ({info.arch})
          </dd>
          <dt>Node.js</dt>
          <dd>{info.nodeVersion}</dd>
          <dt>Companion</dt>
          <dd data-testid="sys-companion-version">{info.companionVersion}</dd>
          <dt>Uptime</dt>
          <dd>{duration(info.uptimeSeconds)}</dd>
          <dt>Load</dt>
          <dd>{info.loadAverage.map((l) => l.toFixed(2)).join(" · ")}</dd>
          <dt>Memory</dt>
          <dd>
            {bytes(info.memory.totalBytes - info.memory.freeBytes)} used of {bytes(info.memory.totalBytes)} (companion{" "}
            {bytes(info.memory.rssBytes)})
          </dd>
        </dl>
      ) : (
        <p className="muted">{channel ? "Loading…" : "Shown when a secure session is open."}</p>
      )}
      <div className="actions">
        <button type="button" onClick={load} disabled={!channel || task.running}>
          Refresh system info
        </button>
      </div>
    </section>
  );
}
