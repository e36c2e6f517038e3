"use client";
import { useCallback, useEffect, useState } from "react";
import type { TSessionListResponse } from "@veil/protocol";
import { Alert } from "../../components/alert";
import * as api from "../../endpoints";
import { useTask } from "../../hooks/use-task";

type SessionInfo = TSessionListResponse["sessions"][number];

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
                <td>
                  {s.userAgent ? s.userAgent.slice(0, 60) : "Unknown"} {s.current ? <span className="badge">this tab</span> : null}
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
