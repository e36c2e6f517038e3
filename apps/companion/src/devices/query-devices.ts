/**
 * Read-side queries of the inventory for the E2E handlers: paged, filtered and sorted device
 * lists, one device's details with its history series, outages. Pure over the inventory. Every
 * answer fits one E2E message whatever text the devices reported (message-budget.ts).
 */
import type { TDeviceDetail, TDeviceSummary, TDevicesListBody, TDevicesListResult, TOutage } from "../protocol";
import { DeviceHistory } from "./history";
import type { Inventory } from "./inventory";
import { countFitting, jsonBytes, LIST_BUDGET_BYTES } from "./message-budget";

const STATUS_ORDER = { online: 0, pending: 1, offline: 2 } as const;
/** Most history points in one `devices.get` answer (keeps it far below 60 KB). */
export const MAX_HISTORY_POINTS = 240;

/**
 * MACs are validated lower-case hex (`ZMacSchema`), so code-unit order is their order; a plain
 * comparison is ~3× cheaper than `localeCompare`, and the browser lists a large site by MAC
 * page after page (10,000 devices: 100 sorts).
 */
const byMac = (a: TDeviceSummary, b: TDeviceSummary): number => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0);

function compare(sort: TDevicesListBody["sort"]): (a: TDeviceSummary, b: TDeviceSummary) => number {
  switch (sort) {
    case "mac":
      return byMac;
    case "lastSeen":
    case "cpu":
    case "clients":
      return (a, b) => a[sort] - b[sort] || byMac(a, b);
    case "status":
      return (a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.name.localeCompare(b.name) || byMac(a, b);
    case "ip": {
      const key = (ip: string): number => ip.split(".").reduce((n, p) => n * 256 + Number(p || 0), 0);
      return (a, b) => key(a.ip) - key(b.ip) || byMac(a, b);
    }
    default:
      return (a, b) => a[sort].localeCompare(b[sort]) || byMac(a, b);
  }
}

/**
 * `devices.list`: up to `limit` rows from `offset`, fewer when more would not fit one message
 * (a row is ~400 bytes of plain text, up to ~2 KB of control characters), never none while rows
 * remain; the next page starts at `offset + devices.length`.
 */
export function listDevices(inv: Inventory, body: TDevicesListBody): TDevicesListResult {
  const counts = { online: 0, offline: 0, pending: 0 };
  const q = body.search?.trim().toLowerCase();
  const rows: TDeviceSummary[] = [];
  for (const d of inv.devices.values()) {
    counts[d.status] += 1;
    if (body.status !== undefined && d.status !== body.status) continue;
    const s = inv.summary(d);
    if (body.model !== undefined && s.model !== body.model) continue;
    if (q && ![s.name, s.hostname, s.mac, s.ip, s.model, s.modelDisplay].some((f) => f.toLowerCase().includes(q)))
      continue;
    rows.push(s);
  }
  const cmp = compare(body.sort);
  rows.sort(body.order === "asc" ? cmp : (a, b) => cmp(b, a));
  const page = rows.slice(body.offset, body.offset + body.limit);
  page.length = countFitting(page, LIST_BUDGET_BYTES, true);
  return { total: rows.length, offset: body.offset, devices: page, counts };
}

/**
 * `devices.get`; undefined when unknown. Clients: the first 100, fewer when the rest of the
 * answer leaves no room for them (`clientsTotal` still counts them all).
 */
export function getDevice(inv: Inventory, mac: string, historyMinutes: number, now: number): TDeviceDetail | undefined {
  const d = inv.devices.get(mac);
  if (d === undefined) return undefined;
  const s = d.state;
  const open = inv.openSample(d);
  const history = (d.history ?? (open ? new DeviceHistory() : undefined))?.series(
    now,
    historyMinutes,
    MAX_HISTORY_POINTS,
    open,
  );
  const stepMin = Math.max(1, Math.ceil(historyMinutes / MAX_HISTORY_POINTS));
  const empty = {
    start: (Math.floor(now / 60_000) - Math.ceil(historyMinutes / stepMin) * stepMin + 1) * 60_000,
    stepMs: stepMin * 60_000,
    cpu: [],
    memoryPct: [],
    rxBps: [],
    txBps: [],
  };
  const detail: TDeviceDetail = {
    summary: inv.summary(d),
    interfaces: (s?.interfaces ?? []).map((i) => ({
      name: i.name,
      mac: i.mac,
      up: i.up,
      speedMbps: i.speedMbps,
      rxBytes: i.rxBytes,
      txBytes: i.txBytes,
    })),
    clients: [],
    clientsTotal: s?.clients.length ?? 0,
    history: history ?? empty,
    commands: inv.commands
      .filter((c) => c.mac === mac)
      .slice(-20)
      .reverse(),
  };
  const clients = (s?.clients ?? []).slice(0, 100);
  clients.length = countFitting(clients, LIST_BUDGET_BYTES - jsonBytes(detail));
  detail.clients = clients;
  return detail;
}

/** `outages.list`: newest first. */
export function listOutages(
  inv: Inventory,
  body: { mac?: string; ongoing?: boolean; offset: number; limit: number },
): { total: number; outages: TOutage[] } {
  const rows = inv.outages.filter(
    (o) =>
      (body.mac === undefined || o.mac === body.mac) &&
      (body.ongoing === undefined || (o.end === null) === body.ongoing),
  );
  rows.sort((a, b) => b.start - a.start || a.mac.localeCompare(b.mac));
  return { total: rows.length, outages: rows.slice(body.offset, body.offset + body.limit).map((o) => ({ ...o })) };
}
