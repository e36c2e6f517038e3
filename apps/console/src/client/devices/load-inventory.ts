/**
 * Loads the whole inventory of a site through `devices.list`, which answers at most 100 rows
 * per request: the first page gives the total, the rest are fetched a few at a time (the
 * companion queues at most 64 requests per session). Sorted by MAC so pages do not overlap
 * while names change; a device added meanwhile arrives through the watch anyway.
 */
import type { TDeviceSummary } from "@veil/protocol";
import type { InstanceChannel } from "../instances/e2e-channel";

/** Rows per `devices.list` request (the protocol's maximum). */
export const PAGE_SIZE = 100;
/** Most rows the page holds; above this the list says it is incomplete. */
export const MAX_ROWS = 50_000;
/** Pages in flight at once. */
const CONCURRENCY = 8;

export interface LoadedInventory {
  readonly devices: Map<string, TDeviceSummary>;
  readonly counts: { online: number; offline: number; pending: number };
  readonly total: number;
  /** The companion has more rows than MAX_ROWS. */
  readonly truncated: boolean;
}

/** Fetches every page; `onProgress` gets the rows loaded so far. Rejects with the first error. */
export async function loadInventory(
  channel: InstanceChannel,
  onProgress?: (loaded: number, total: number) => void,
): Promise<LoadedInventory> {
  const devices = new Map<string, TDeviceSummary>();
  const first = await channel.request("devices.list", { offset: 0, limit: PAGE_SIZE, sort: "mac", order: "asc" });
  for (const d of first.devices) devices.set(d.mac, d);
  let counts = first.counts;
  const total = Math.min(first.total, MAX_ROWS);
  onProgress?.(devices.size, total);
  let next = first.devices.length;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const offset = next;
      next += PAGE_SIZE;
      const page = await channel.request("devices.list", { offset, limit: PAGE_SIZE, sort: "mac", order: "asc" });
      for (const d of page.devices) devices.set(d.mac, d);
      counts = page.counts;
      onProgress?.(devices.size, total);
    }
  };
  if (first.devices.length > 0) await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { devices, counts, total: first.total, truncated: first.total > MAX_ROWS };
}
