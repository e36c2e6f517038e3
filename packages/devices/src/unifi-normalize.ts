/**
 * Maps a validated UniFi inform payload onto Veil's normalised device state, so the companion
 * stores one shape whichever dialect a device speaks. Pure; the input must already have been
 * parsed with ZUnifiInformSchema (and, under the default key, be trusted for nothing).
 *
 * The result satisfies ZDeviceStateSchema by construction — every field is copied from one the
 * inform schema already bounded the same way, or clamped here — so it is not validated a second
 * time on the ingest path (that pass was a fifth of an inform's CPU). The property test in
 * packages/devices/test/unifi-normalize.test.ts holds this to the schema.
 */
import type { TDeviceState, TUnifiInform } from "@veil/protocol";

const KIND = { uap: "ap", usw: "switch", ugw: "router", udm: "router" } as const;
const clampInt = (n: number | undefined): number =>
  n === undefined || !Number.isFinite(n) || n < 0 ? 0 : Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);

/** The device state a UniFi inform describes. */
export function unifiInformToDeviceState(inform: TUnifiInform): TDeviceState {
  const kind = inform.type
    ? KIND[inform.type]
    : inform.radio_table?.length
      ? "ap"
      : inform.port_table?.length
        ? "switch"
        : "router";
  const ss = inform["system-stats"];
  const cpu = ss?.cpu ?? (inform.sys_stats?.loadavg_1 !== undefined ? inform.sys_stats.loadavg_1 * 25 : 0);
  const total = clampInt(inform.sys_stats?.mem_total);
  const used = clampInt(
    inform.sys_stats?.mem_used ?? (ss?.mem !== undefined && total > 0 ? (ss.mem / 100) * total : 0),
  );
  return {
    mac: inform.mac,
    kind,
    model: inform.model,
    modelDisplay: inform.model_display ?? inform.model,
    firmware: inform.version,
    hostname: inform.hostname,
    ip: inform.ip,
    uptime: inform.uptime,
    cpu: Number.isFinite(cpu) ? Math.min(100, Math.max(0, cpu)) : 0,
    memory: { totalBytes: total, usedBytes: Math.min(used, total || used) },
    locating: inform.locating ?? false,
    interfaces: inform.if_table.map((i) => ({
      name: i.name,
      mac: i.mac ?? inform.mac,
      up: i.up ?? false,
      speedMbps: Math.min(clampInt(i.speed), 400_000),
      rxBytes: clampInt(i.rx_bytes),
      txBytes: clampInt(i.tx_bytes),
      rxPackets: clampInt(i.rx_packets),
      txPackets: clampInt(i.tx_packets),
    })),
    clients: (inform.sta_table ?? []).map((c) => ({
      mac: c.mac,
      ...(c.ip !== undefined ? { ip: c.ip } : {}),
      ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
      ...(c.signal !== undefined ? { signalDbm: c.signal } : {}),
      rxBytes: clampInt(c.rx_bytes),
      txBytes: clampInt(c.tx_bytes),
      uptime: clampInt(c.uptime),
    })),
  };
}
