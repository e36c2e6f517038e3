"use client";
/**
 * The devices table, windowed: only the rows in (and just around) the scroll viewport are in
 * the DOM, so 10,000 rows cost as much as 30. Rows have one fixed height (CSS `.device-table`);
 * spacer rows above and below keep the scrollbar true. Screen readers get the real row count
 * and each row's index (aria-rowcount / aria-rowindex). Column headers are sort buttons.
 */
import Link from "next/link";
import { useEffect, useMemo, useRef, useState, type UIEvent } from "react";
import type { TDeviceSummary } from "@veil/protocol";
import { DEVICE_COLUMNS, type DeviceQuery, type DeviceSortKey } from "./device-view-model";
import { Ago, StatusPill } from "./device-format";

/** Must match `.device-table tbody tr` height in globals.css. */
export const ROW_HEIGHT = 36;
const VIEWPORT_HEIGHT = 560;
const OVERSCAN = 8;

function SortHeader({
  column,
  query,
  onSort,
}: {
  column: { key: DeviceSortKey; label: string };
  query: DeviceQuery;
  onSort: (key: DeviceSortKey) => void;
}) {
  const active = query.sort === column.key;
  const sort = active ? (query.order === "asc" ? "ascending" : "descending") : undefined;
  return (
    <th scope="col" aria-sort={sort}>
      <button type="button" className="link sort" onClick={() => onSort(column.key)}>
        {column.label}
        <span aria-hidden="true">{active ? (query.order === "asc" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );
}

function Row({ d, index, href }: { d: TDeviceSummary; index: number; href: string }) {
  return (
    <tr aria-rowindex={index + 2} data-mac={d.mac} data-testid="device-row">
      <td>
        <Link href={href}>{d.name || d.mac}</Link>
      </td>
      <td>
        <StatusPill status={d.status} />
      </td>
      <td title={d.model}>{d.modelDisplay || d.model}</td>
      <td>{d.ip}</td>
      <td>
        <code>{d.mac}</code>
      </td>
      <td>{Math.round(d.cpu)} %</td>
      <td>{d.clients}</td>
      <td>
        <Ago at={d.lastSeen} />
      </td>
    </tr>
  );
}

export function DeviceTable({
  rows,
  query,
  onSort,
  hrefOf,
  onVisible,
}: {
  rows: readonly TDeviceSummary[];
  query: DeviceQuery;
  onSort: (key: DeviceSortKey) => void;
  hrefOf: (mac: string) => string;
  /** The MACs now on screen (for the live watch of visible rows). */
  onVisible?: (macs: string[]) => void;
}) {
  const [scrollTop, setScrollTop] = useState(0);
  const frame = useRef<number | null>(null);
  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const top = e.currentTarget.scrollTop;
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      setScrollTop(top);
    });
  };
  useEffect(() => () => void (frame.current !== null && cancelAnimationFrame(frame.current)), []);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + VIEWPORT_HEIGHT) / ROW_HEIGHT) + OVERSCAN);
  const shown = rows.slice(first, last);
  const visibleKey = useMemo(() => shown.map((d) => d.mac).join(","), [shown]);
  useEffect(() => {
    if (onVisible) onVisible(visibleKey === "" ? [] : visibleKey.split(","));
  }, [visibleKey, onVisible]);
  return (
    <div
      className="device-scroll"
      style={{ maxHeight: VIEWPORT_HEIGHT }}
      onScroll={onScroll}
      tabIndex={0}
      role="region"
      aria-label="Devices table (scrolls)"
    >
      <table className="device-table" aria-rowcount={rows.length + 1} data-testid="device-table">
        <thead>
          <tr aria-rowindex={1}>
            {DEVICE_COLUMNS.map((c) => (
              <SortHeader key={c.key} column={c} query={query} onSort={onSort} />
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 ? <tr aria-hidden="true" className="spacer" style={{ height: first * ROW_HEIGHT }} /> : null}
          {shown.map((d, i) => (
            <Row key={d.mac} d={d} index={first + i} href={hrefOf(d.mac)} />
          ))}
          {last < rows.length ? (
            <tr aria-hidden="true" className="spacer" style={{ height: (rows.length - last) * ROW_HEIGHT }} />
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
