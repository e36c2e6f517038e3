"use client";
import { useCallback, useEffect, useState } from "react";
import type { TSessionListResponse } from "@veil/protocol";
import { Alert } from "../../components/alert";
import * as api from "../../endpoints";
import { useTask } from "../../hooks/use-task";

type SessionInfo = TSessionListResponse["sessions"][number];

const BROWSERS: readonly [RegExp, string][] = [
  [/Edg\/(\d+)/, "Edge"],
  [/Firefox\/(\d+)/, "Firefox"],
  [/Chrome\/(\d+)/, "Chrome"],
  [/Version\/(\d+).*Safari/, "Safari"],
];
const SYSTEMS: readonly [RegExp, string][] = [
  [/Android/, "Android"],
  [/iPhone|iPad/, "iOS"],
  [/Windows/, "Windows"],
  [/Mac OS X/, "macOS"],
  [/Linux/, "Linux"],
];

/** "Chrome 156 on Linux" from a User-Agent string (best effort; the raw string is the cell's title). */
function describeUserAgent(ua: string | null): string {
  if (!ua) return "Unknown device";
  let browser = "Browser";
  for (const [re, name] of BROWSERS) {
    const m = re.exec(ua);
    if (m) {
      browser = `${name} ${m[1] ?? ""}`.trim();
      break;
    }
  }
  const os = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  return os ? `${browser} on ${os}` : browser;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** Active sessions of this account, with revoke (which also disconnects their sockets). */
export function SessionsSection() {
  const [sessions, setSessions] = useState<readonly SessionInfo[] | null>(null);
  const task = useTask();
  const load = useCallback(() => task.run(api.listSessions).then((r) => r && setSessions(r.sessions)), [task.run]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <Alert>{task.error}</Alert>
      {sessions === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table data-testid="sessions">
          <caption className="visually-hidden">Active sessions</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-session-id={s.id}>
                <td title={s.userAgent ?? undefined}>
                  {describeUserAgent(s.userAgent)} {s.current ? <span className="badge">this tab</span> : null}
                </td>
                <td>{s.ip ?? "—"}</td>
                <td>{when(s.createdAt)}</td>
                <td>{when(s.lastSeenAt)}</td>
                <td>
                  {s.current ? null : (
                    <button
                      type="button"
                      className="danger"
                      disabled={task.running}
                      aria-label={`Revoke session from ${s.ip ?? "unknown address"} signed in ${when(s.createdAt)}`}
                      onClick={() => void task.run(() => api.revokeSession(s.id)).then((r) => r && load())}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions">
        <button type="button" onClick={() => void load()} disabled={task.running}>
          Refresh
        </button>
      </div>
    </section>
  );
}
