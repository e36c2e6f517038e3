/** What a simulated device says about itself in each dialect: UniFi inform JSON, Veil state, UBDP. */
import type { UbdpInfo } from "@veil/devices";
import type { SimDevice } from "./device";
import type { TDeviceState, TUnifiInform } from "@veil/protocol";

/** The UniFi inform payload (firmware field names). */
export function toUnifiInform(d: SimDevice, now: number): TUnifiInform {
  const uptime = d.uptime(now);
  const report: TUnifiInform = {
    mac: d.mac,
    ip: d.ip,
    model: d.spec.model,
    model_display: d.spec.display,
    type: d.spec.unifiType,
    version: d.firmware,
    hostname: d.hostname,
    serial: d.mac.replaceAll(":", "").toUpperCase(),
    uptime,
    time: Math.floor(now / 1000),
    default: d.unifi.authkey === undefined,
    ...(d.unifi.informUrl !== undefined ? { inform_url: d.unifi.informUrl } : {}),
    locating: d.locating,
    if_table: d.interfaces.map((i) => ({
      name: i.name,
      mac: i.mac,
      up: i.up,
      speed: i.speedMbps,
      full_duplex: true,
      rx_bytes: i.rxBytes,
      tx_bytes: i.txBytes,
      rx_packets: i.rxPackets,
      tx_packets: i.txPackets,
    })),
    sys_stats: { loadavg_1: Number((d.cpu / 25).toFixed(2)), mem_total: d.spec.memoryBytes, mem_used: d.memUsed },
    "system-stats": { cpu: d.cpu, mem: Math.round((100 * d.memUsed) / d.spec.memoryBytes), uptime },
  };
  if (d.spec.kind === "switch") {
    report.port_table = d.interfaces.map((i, n) => ({
      port_idx: n + 1,
      name: `Port ${n + 1}`,
      up: i.up,
      speed: i.speedMbps,
      rx_bytes: i.rxBytes,
      tx_bytes: i.txBytes,
    }));
  }
  if (d.spec.kind === "ap") {
    report.radio_table = d.spec.radios.map((r, n) => ({
      name: `wifi${n}`,
      radio: r,
      channel: r === "ng" ? 6 : r === "na" ? 36 : 37,
      tx_power: 20,
    }));
  }
  report.sta_table = d.clients.map((c) => ({
    mac: c.mac,
    ip: c.ip,
    hostname: c.hostname,
    ...(c.signalDbm !== undefined ? { signal: c.signalDbm } : {}),
    uptime: Math.max(0, Math.floor((now - c.since) / 1000)),
    rx_bytes: c.rxBytes,
    tx_bytes: c.txBytes,
  }));
  if (d.unifi.cmdResults.length > 0) report.cmd_results = d.unifi.cmdResults.splice(0, 16);
  return report;
}

/** The normalised state reported over Veil's channel. */
export function toDeviceState(d: SimDevice, now: number): TDeviceState {
  return {
    mac: d.mac,
    kind: d.spec.kind,
    model: d.spec.model,
    modelDisplay: d.spec.display,
    firmware: d.firmware,
    hostname: d.hostname,
    ip: d.ip,
    uptime: d.uptime(now),
    cpu: d.cpu,
    memory: { totalBytes: d.spec.memoryBytes, usedBytes: d.memUsed },
    locating: d.locating,
    interfaces: d.interfaces.map((i) => ({
      name: i.name,
      mac: i.mac,
      up: i.up,
      speedMbps: i.speedMbps,
      rxBytes: i.rxBytes,
      txBytes: i.txBytes,
      rxPackets: i.rxPackets,
      txPackets: i.txPackets,
    })),
    clients: d.clients.map((c) => ({
      mac: c.mac,
      ip: c.ip,
      hostname: c.hostname,
      ...(c.signalDbm !== undefined ? { signalDbm: c.signalDbm } : {}),
      rxBytes: c.rxBytes,
      txBytes: c.txBytes,
      uptime: Math.max(0, Math.floor((now - c.since) / 1000)),
    })),
  };
}

/** The UBDP reply fields (Wireshark packet-ubdp.c types). */
export function toUbdpInfo(d: SimDevice, now: number, sequence: number): UbdpInfo {
  return {
    mac: d.mac,
    addresses: [{ mac: d.mac, ip: d.ip }],
    firmware: d.firmware,
    firmwareFull: `${d.spec.model}.qca956x.v${d.firmware}`,
    uptime: d.uptime(now) >>> 0,
    hostname: d.hostname,
    platform: d.spec.model,
    model: d.spec.model,
    modelType: d.spec.display,
    sequence: sequence >>> 0,
    isDefault: d.unifi.authkey === undefined && d.veil.deviceKey === undefined,
    locating: d.locating,
    sshPort: 22,
  };
}
