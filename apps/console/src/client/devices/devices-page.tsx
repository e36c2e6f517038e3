"use client";
/**
 * /instances/[id]/devices — every device of the site, live over the end-to-end session:
 * search, status and model filters, sortable columns, a windowed table. While the site is
 * offline it shows the last-known inventory snapshot (read-only) instead.
 */
import { useCallback, useDeferredValue, useEffect, useMemo, useState } from "react";
import type { TDeviceStatus, TDeviceSummary } from "@veil/protocol";
import { Alert } from "../components/alert";
import type { InstancePageProps } from "../instances/instance-frame";
import { useLastKnownInventory } from "../snapshots/use-last-known";
import { DeviceTable } from "./device-table";
import {
  countStatuses,
  DEFAULT_QUERY,
  deriveRows,
  modelsOf,
  type DeviceQuery,
  type DeviceSortKey,
} from "./device-view-model";
import { useDeviceInventory, type StatusCounts } from "./use-device-inventory";

const STATUSES: readonly TDeviceStatus[] = ["online", "offline", "pending"];

function Filters({
  query,
  setQuery,
  models,
}: {
  query: DeviceQuery;
  setQuery: (f: (q: DeviceQuery) => DeviceQuery) => void;
  models: { model: string; label: string }[];
}) {
  return (
    <form className="filters" role="search" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
      <div className="field">
        <label htmlFor="device-search">Search devices</label>
        <input
          id="device-search"
          type="search"
          maxLength={64}
          placeholder="Name, MAC, IP or model"
          value={query.search}
          onChange={(e) => {
            const search = e.target.value;
            setQuery((q) => ({ ...q, search }));
          }}
        />
      </div>
      <div className="field">
        <label htmlFor="device-status">Status</label>
        <select
          id="device-status"
          value={query.status}
          onChange={(e) => {
            const v = e.target.value;
            const status = STATUSES.find((s) => s === v) ?? "";
            setQuery((q) => ({ ...q, status }));
          }}
        >
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="device-model">Model</label>
        <select
          id="device-model"
          value={query.model}
          onChange={(e) => {
            const model = e.target.value;
            setQuery((q) => ({ ...q, model }));
          }}
        >
          <option value="">Any model</option>
          {models.map((m) => (
            <option key={m.model} value={m.model}>
              {m.label}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}

function Counts({ counts, shown }: { counts: StatusCounts; shown: number }) {
  return (
    <p className="device-counts" data-testid="device-counts" aria-live="polite">
      <span data-testid="count-online">{counts.online}</span> online ·{" "}
      <span data-testid="count-offline">{counts.offline}</span> offline ·{" "}
      <span data-testid="count-pending">{counts.pending}</span> pending · <span data-testid="count-shown">{shown}</span>{" "}
      shown
    </p>
  );
}

/** The filter, sort and table over any set of rows (live or last known). */
function DeviceList({
  devices,
  version,
  counts,
  hrefOf,
  onVisible,
  onRendered,
}: {
  devices: ReadonlyMap<string, TDeviceSummary>;
  version: number;
  counts: StatusCounts | null;
  hrefOf: (mac: string) => string;
  onVisible?: (macs: string[]) => void;
  onRendered?: (version: number) => void;
}) {
  const [query, setQueryState] = useState<DeviceQuery>(DEFAULT_QUERY);
  const setQuery = useCallback((f: (q: DeviceQuery) => DeviceQuery) => setQueryState(f), []);
  // Typing stays responsive: the filtered view follows the input at a lower priority.
  const deferred = useDeferredValue(query);
  // `version` stands for the Map's contents (it is mutated in place).
  const rows = useMemo(() => deriveRows(devices.values(), deferred), [devices, version, deferred]);
  const models = useMemo(() => modelsOf(devices.values()), [devices, version]);
  const shownCounts = useMemo(() => counts ?? countStatuses(devices.values()), [counts, devices, version]);
  useEffect(() => onRendered?.(version), [version, onRendered]);
  const onSort = useCallback(
    (key: DeviceSortKey) =>
      setQueryState((q) => ({ ...q, sort: key, order: q.sort === key && q.order === "asc" ? "desc" : "asc" })),
    [],
  );
  return (
    <>
      <Filters query={query} setQuery={setQuery} models={models} />
      <Counts counts={shownCounts} shown={rows.length} />
      {rows.length === 0 ? (
        <p className="muted" data-testid="devices-empty">
          {devices.size === 0 ? "No devices have reported to this site yet." : "No device matches the filters."}
        </p>
      ) : null}
      <DeviceTable rows={rows} query={deferred} onSort={onSort} hrefOf={hrefOf} onVisible={onVisible} />
    </>
  );
}

function LiveDevices({ site, hrefOf }: Pick<InstancePageProps, "site"> & { hrefOf: (mac: string) => string }) {
  const inv = useDeviceInventory(site.open);
  return (
    <section className="card" aria-labelledby="devices-title">
      <h2 id="devices-title">
        Devices{" "}
        <span className={inv.live ? "badge outcome-success" : "badge"} data-testid="devices-live">
          {inv.live ? "live" : "not live"}
        </span>
      </h2>
      <Alert>{inv.error}</Alert>
      {inv.loading ? (
        <p className="muted" role="status" data-testid="devices-loading">
          Loading devices{inv.progress ? ` (${inv.progress.loaded} of ${inv.progress.total})` : ""}…
        </p>
      ) : null}
      {inv.truncated ? (
        <Alert kind="notice">This site has more devices than the page holds; some are not shown.</Alert>
      ) : null}
      <DeviceList
        devices={inv.devices}
        version={inv.version}
        counts={inv.counts}
        hrefOf={hrefOf}
        onVisible={inv.setVisible}
        onRendered={inv.rendered}
      />
    </section>
  );
}

/**
 * The site is offline: the newest inventory snapshot the companion sealed to this account
 * (verified against the instance's key and opened in this browser by the snapshots code),
 * read-only, or a plain "offline" when there is none.
 */
function OfflineDevices({ site, session, hrefOf }: InstancePageProps & { hrefOf: (mac: string) => string }) {
  const last = useLastKnownInventory(site, session);
  const devices = useMemo(
    () => new Map((last.snapshot?.devices ?? []).map((d) => [d.mac, d] as const)),
    [last.snapshot],
  );
  const since = site.instance?.presence.lastSeenAt ?? null;
  return (
    <section className="card" aria-labelledby="devices-title" data-testid="devices-offline">
      <h2 id="devices-title">Devices</h2>
      <p role="status" data-testid="site-offline">
        {last.snapshot ? "Last known, site offline since " : "The site is offline since "}
        {since ? <time dateTime={since}>{new Date(since).toLocaleString()}</time> : "an unknown time"}
        {last.snapshot ? (
          <> (snapshot taken {new Date(last.snapshot.takenAt).toLocaleString()}; read-only).</>
        ) : last.loading ? (
          ". Looking for a last-known inventory…"
        ) : (
          ". No last-known inventory is available."
        )}
      </p>
      <Alert>{last.error}</Alert>
      {last.snapshot ? <DeviceList devices={devices} version={0} counts={null} hrefOf={hrefOf} /> : null}
    </section>
  );
}

export function DevicesPage({ site, session }: InstancePageProps) {
  const id = site.instance?.id ?? "";
  const hrefOf = useCallback((mac: string) => `/instances/${id}/devices/${mac}`, [id]);
  if (site.open) return <LiveDevices site={site} hrefOf={hrefOf} />;
  if (!site.online) return <OfflineDevices site={site} session={session} hrefOf={hrefOf} />;
  const ch = site.channel;
  return (
    <section className="card" aria-labelledby="devices-title">
      <h2 id="devices-title">Devices</h2>
      <p className="muted" role="status" data-testid="devices-connecting">
        {ch.status === "closed" || (ch.status === "idle" && ch.message) ? ch.message : "Opening a secure session…"}
      </p>
    </section>
  );
}
