/**
 * Loads the whole inventory of a site through `devices.list`, which answers at most 100 rows
 * per request, and fewer when they would not fit one E2E message (devices choose their own
 * names: a page of long non-ASCII names holds ~25): the first page gives the total, the rest
 * are fetched a few at a time (the companion queues at most 64 requests per session). Each
 * request asks for a range no other request covers; a short page leaves the rest of its range
 * to a later request, from `offset + devices.length`. Sorted by MAC so pages do not overlap
 * while names change; a device added meanwhile arrives through the watch anyway.
 */
import type { TDeviceSummary } from "@veil/protocol";
import type { InstanceChannel } from "../instances/e2e-channel";

/** Rows per `devices.list` request (the protocol's maximum). */
export const PAGE_SIZE = 100;
/** Most rows the page holds; above this the list says it is incomplete. */
export const MAX_ROWS = 50_000;
/** Pages in flight at once. */
export const CONCURRENCY = 8;

export interface LoadedInventory {
  readonly devices: Map<string, TDeviceSummary>;
  readonly counts: { online: number; offline: number; pending: number };
  readonly total: number;
  /** The companion has more rows than MAX_ROWS. */
  readonly truncated: boolean;
}

/** Rows `[offset, offset + limit)` of the MAC order, not asked for yet. */
interface Range {
  readonly offset: number;
  readonly limit: number;
}

/** Fetches every page; `onProgress` gets the rows loaded so far. Rejects with the first error. */
export async function loadInventory(
  channel: Pick<InstanceChannel, "request">,
  onProgress?: (loaded: number, total: number) => void,
): Promise<LoadedInventory> {
  const list = (r: Range) => channel.request("devices.list", { ...r, sort: "mac", order: "asc" });
  const devices = new Map<string, TDeviceSummary>();
  const first = await list({ offset: 0, limit: PAGE_SIZE });
  for (const d of first.devices) devices.set(d.mac, d);
  let counts = first.counts;
  const total = Math.min(first.total, MAX_ROWS);
  onProgress?.(devices.size, total);
  /** Where the rows end: lowered by an empty page (devices went away since the first). */
  let end = first.devices.length === 0 ? 0 : total;
  /** The first row no request has covered yet. */
  let next = first.devices.length;
  /** Tails of short pages: rows below `next` still to fetch. */
  const rest: Range[] = [];
  const take = (): Range | undefined => {
    for (let r = rest.pop(); r !== undefined; r = rest.pop())
      if (r.offset < end) return { offset: r.offset, limit: Math.min(r.offset + r.limit, end) - r.offset };
    if (next >= end) return undefined;
    const offset = next;
    next = Math.min(offset + PAGE_SIZE, end);
    return { offset, limit: next - offset };
  };
  const worker = async (): Promise<void> => {
    for (let r = take(); r !== undefined; r = take()) {
      const page = await list(r);
      for (const d of page.devices) devices.set(d.mac, d);
      counts = page.counts;
      const got = page.devices.length;
      // An empty page: nothing from here on any more; a short one: its tail comes next.
      if (got === 0) end = Math.min(end, r.offset);
      else if (got < r.limit) rest.push({ offset: r.offset + got, limit: r.limit - got });
      onProgress?.(devices.size, total);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { devices, counts, total: first.total, truncated: first.total > MAX_ROWS };
}
