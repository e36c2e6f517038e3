"use client";
/**
 * /instances/[id]/outages — outages recorded by the companion (a device silent for three inform
 * intervals, until it reported again), newest first, paged through `outages.list`.
 */
import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import type { TOutage } from "@veil/protocol";
import { Alert } from "../components/alert";
import { useTask } from "../hooks/use-task";
import type { InstancePageProps } from "../instances/instance-frame";
import { spanOf, when } from "./device-format";

const PAGE = 50;
const REFRESH_MS = 15_000;

export function OutagesPage({ site }: InstancePageProps) {
  const channel = site.open;
  const id = site.instance?.id ?? "";
  const [offset, setOffset] = useState(0);
  const [ongoing, setOngoing] = useState(false);
  const [data, setData] = useState<{ total: number; outages: TOutage[]; at: number } | null>(null);
  const task = useTask();
  const load = useCallback(() => {
    if (!channel) return;
    void task
      .run(() => channel.request("outages.list", { offset, limit: PAGE, ...(ongoing ? { ongoing: true } : {}) }))
      .then((r) => r && setData({ ...r, at: Date.now() }));
  }, [channel, offset, ongoing, task.run]);
  useEffect(() => {
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);
  const total = data?.total ?? 0;
  return (
    <section className="card" aria-labelledby="outages-title">
      <h2 id="outages-title">Outages</h2>
      {!channel ? (
        <p className="muted" role="status" data-testid="outages-offline">
          Outages are read from the companion; shown when a secure session is open.
        </p>
      ) : null}
      <Alert>{task.error}</Alert>
      <div className="actions">
        <label>
          <input
            type="checkbox"
            checked={ongoing}
            onChange={(e) => {
              setOngoing(e.target.checked);
              setOffset(0);
            }}
          />{" "}
          Only ongoing
        </label>
        <button type="button" onClick={load} disabled={!channel || task.running}>
          Refresh outages
        </button>
      </div>
      {data ? (
        data.outages.length === 0 ? (
          <p className="muted" data-testid="outages-empty">
            {ongoing ? "No device is down." : "No outage recorded."}
          </p>
        ) : (
          <table data-testid="outages-table">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Start</th>
                <th scope="col">End</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {data.outages.map((o) => (
                <tr key={`${o.mac}-${o.start}`} data-testid="outage-row" data-mac={o.mac}>
                  <td>
                    <Link href={`/instances/${id}/devices/${o.mac}`}>
                      <code>{o.mac}</code>
                    </Link>
                  </td>
                  <td>{when(o.start)}</td>
                  <td>{o.end === null ? <span className="badge outcome-failure">ongoing</span> : when(o.end)}</td>
                  <td>{spanOf((o.end ?? data.at) - o.start)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
      {total > PAGE ? (
        <nav className="actions" aria-label="Outage pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Newer
          </button>
          <span data-testid="outages-range">
            {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
          </span>
          <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            Older
          </button>
        </nav>
      ) : null}
    </section>
  );
}
