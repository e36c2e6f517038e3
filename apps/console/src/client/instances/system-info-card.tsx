"use client";
import { useCallback, useEffect, useState } from "react";
import { ZSystemSnapshotSchema, type TSystemInfoResult, type TSystemSnapshot } from "@veil/protocol";
import { Alert } from "../components/alert";
import { useTask } from "../hooks/use-task";
import type { InstanceChannel } from "./e2e-channel";
import { bytes, duration } from "./format-units";

/** How often the companion pushes a live `system.snapshot` (uptime, load, memory). */
const WATCH_INTERVAL_MS = 5000;

/** Live uptime, load and memory from a `system.watch` stream while the channel is open. */
function useSystemWatch(channel: InstanceChannel | null): TSystemSnapshot | null {
  const [snapshot, setSnapshot] = useState<TSystemSnapshot | null>(null);
  useEffect(() => {
    setSnapshot(null);
    if (!channel) return;
    let stream: { cancel(): void } | null = null;
    let gone = false;
    channel
      .subscribe("system.watch", { intervalMs: WATCH_INTERVAL_MS }, "system.snapshot", ZSystemSnapshotSchema, {
        onEvent: (s) => !gone && setSnapshot(s),
        onEnd: () => undefined,
      })
      .then(
        (s) => (gone ? s.cancel() : (stream = s)),
        () => undefined,
      );
    return () => {
      gone = true;
      stream?.cancel();
    };
  }, [channel]);
  return snapshot;
}

/** The companion's system info, fetched over the E2E channel; uptime, load and memory stay live. */
export function SystemInfoCard({ channel }: { channel: InstanceChannel | null }) {
  const [fetched, setInfo] = useState<TSystemInfoResult | null>(null);
  const live = useSystemWatch(channel);
  const task = useTask();
  const load = useCallback(() => {
    if (channel) void task.run(() => channel.request("system.info", {})).then((r) => r && setInfo(r));
  }, [channel, task.run]);
  useEffect(() => load(), [load]);
  const info = fetched && live ? { ...fetched, ...live } : fetched;
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
          <dd data-testid="sys-uptime">{duration(info.uptimeSeconds)}</dd>
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
      {live ? (
        <p className="hint" data-testid="sys-live">
          Live: updated every {WATCH_INTERVAL_MS / 1000} s, last at {new Date(live.at).toLocaleTimeString()}.
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={load} disabled={!channel || task.running}>
          Refresh system info
        </button>
      </div>
    </section>
  );
}
