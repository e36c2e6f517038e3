/**
 * The devices list as the page shows it: search, status and model filter, and sort over the
 * rows held in the browser (a Map keyed by MAC). Pure functions, so the page memoises them and
 * the unit of work is one pass over the rows (10,000 rows: a few milliseconds).
 */
import type { TDeviceStatus, TDeviceSummary } from "@veil/protocol";

/** Columns the table can sort by. */
export type DeviceSortKey = "name" | "status" | "model" | "ip" | "mac" | "cpu" | "clients" | "lastSeen";
export type SortOrder = "asc" | "desc";

/** What the user asked for: every field optional but the sort. */
export interface DeviceQuery {
  readonly search: string;
  readonly status: TDeviceStatus | "";
  readonly model: string;
  readonly sort: DeviceSortKey;
  readonly order: SortOrder;
}

export const DEFAULT_QUERY: DeviceQuery = { search: "", status: "", model: "", sort: "name", order: "asc" };

/** The columns in table order, with their header text. */
export const DEVICE_COLUMNS: readonly { key: DeviceSortKey; label: string }[] = [
  { key: "name", label: "Name" },
  { key: "status", label: "Status" },
  { key: "model", label: "Model" },
  { key: "ip", label: "IP" },
  { key: "mac", label: "MAC" },
  { key: "cpu", label: "CPU" },
  { key: "clients", label: "Clients" },
  { key: "lastSeen", label: "Last seen" },
];

const STATUS_RANK: Record<TDeviceStatus, number> = { online: 0, pending: 1, offline: 2 };

/** IPv4 as a number so 10.0.0.9 sorts before 10.0.0.10; anything else sorts last. */
function ipRank(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) return Number.MAX_SAFE_INTEGER;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 0 || v > 255) return Number.MAX_SAFE_INTEGER;
    n = n * 256 + v;
  }
  return n;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function compareBy(key: DeviceSortKey): (a: TDeviceSummary, b: TDeviceSummary) => number {
  switch (key) {
    case "name":
      return (a, b) => collator.compare(a.name, b.name);
    case "model":
      return (a, b) => collator.compare(a.modelDisplay || a.model, b.modelDisplay || b.model);
    case "status":
      return (a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status];
    case "ip":
      return (a, b) => ipRank(a.ip) - ipRank(b.ip);
    case "mac":
      return (a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0);
    case "cpu":
      return (a, b) => a.cpu - b.cpu;
    case "clients":
      return (a, b) => a.clients - b.clients;
    case "lastSeen":
      return (a, b) => a.lastSeen - b.lastSeen;
  }
}

/** Whether a row matches the search text (name, hostname, MAC, IP or model; case-insensitive). */
export function matchesSearch(d: TDeviceSummary, needle: string): boolean {
  if (needle === "") return true;
  return (
    d.name.toLowerCase().includes(needle) ||
    d.hostname.toLowerCase().includes(needle) ||
    d.mac.includes(needle) ||
    d.ip.includes(needle) ||
    d.model.toLowerCase().includes(needle) ||
    d.modelDisplay.toLowerCase().includes(needle)
  );
}

/**
 * The rows to show: filtered, then sorted (ties broken by MAC so the order is stable while
 * rows update). A MAC typed with dashes (aa-bb-…) matches too.
 */
export function deriveRows(devices: Iterable<TDeviceSummary>, q: DeviceQuery): TDeviceSummary[] {
  const needle = q.search.trim().toLowerCase().replaceAll("-", ":").slice(0, 64);
  const out: TDeviceSummary[] = [];
  for (const d of devices) {
    if (q.status !== "" && d.status !== q.status) continue;
    if (q.model !== "" && d.model !== q.model) continue;
    if (!matchesSearch(d, needle)) continue;
    out.push(d);
  }
  const cmp = compareBy(q.sort);
  const dir = q.order === "asc" ? 1 : -1;
  out.sort((a, b) => dir * cmp(a, b) || (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
  return out;
}

/** The distinct models (code → display name), sorted by display name, for the model filter. */
export function modelsOf(devices: Iterable<TDeviceSummary>): { model: string; label: string }[] {
  const seen = new Map<string, string>();
  for (const d of devices) if (!seen.has(d.model)) seen.set(d.model, d.modelDisplay || d.model);
  return [...seen].map(([model, label]) => ({ model, label })).sort((a, b) => collator.compare(a.label, b.label));
}

/** Status counts of the rows held (used when the companion's counts are not at hand). */
export function countStatuses(devices: Iterable<TDeviceSummary>): Record<TDeviceStatus, number> {
  const counts = { online: 0, offline: 0, pending: 0 };
  for (const d of devices) counts[d.status] += 1;
  return counts;
}
