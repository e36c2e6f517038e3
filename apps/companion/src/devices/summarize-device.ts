/** The row of the devices page for one inventory entry. */
import type { TDeviceSummary } from "../protocol";
import type { DeviceEntry } from "./inventory-types";

/** The row of the devices page for `d` (no secrets). */
export function summarizeDevice(d: DeviceEntry): TDeviceSummary {
  const s = d.state;
  const memPct = s && s.memory.totalBytes > 0 ? Math.min(100, (100 * s.memory.usedBytes) / s.memory.totalBytes) : 0;
  return {
    mac: d.mac,
    dialect: d.dialect,
    status: d.status,
    name: d.alias ?? s?.hostname ?? d.mac,
    hostname: s?.hostname ?? "",
    kind: s?.kind ?? "ap",
    model: s?.model ?? "",
    modelDisplay: s?.modelDisplay ?? "",
    firmware: s?.firmware ?? "",
    ip: s?.ip ?? "",
    firstSeen: d.firstSeen,
    lastSeen: d.lastSeen,
    intervalSec: d.intervalSec,
    uptime: s?.uptime ?? 0,
    cpu: s?.cpu ?? 0,
    memoryPct: Math.round(memPct * 10) / 10,
    clients: s?.clients.length ?? 0,
    locating: s?.locating ?? false,
  };
}
