/**
 * Replay of one inventory log record: replaying the same records rebuilds the same inventory.
 * Unknown or malformed records are skipped.
 */
import type { TDeviceCommandRecord, TDeviceState } from "../protocol";
import { DeviceHistory } from "./history";
import { addDeviceEntry, pushOutage, upsertCommand } from "./inventory-bookkeeping";
import { isRec, num, str } from "./inventory-records";
import {
  MAX_HANDED_AUTHKEYS,
  type DeviceEntry,
  type HandedAuthkey,
  type InventoryState,
  type SiteKeyEntry,
} from "./inventory-types";

function handedAuthkey(v: unknown): HandedAuthkey[] {
  if (typeof v !== "object" || v === null) return [];
  const k = str((v as { k?: unknown }).k);
  const at = num((v as { at?: unknown }).at);
  const fp = str((v as { fp?: unknown }).fp);
  return k !== undefined && /^[0-9a-f]{32}$/.test(k) && at !== undefined && fp !== undefined ? [{ k, at, fp }] : [];
}

function setOpt(d: DeviceEntry, field: "authkey" | "authkeyCert" | "pendingAuthkey", v: string | undefined): void {
  if (v === undefined) delete d[field];
  else d[field] = v;
}

/** Applies one replayed record to `inv`; new devices get `defaultIntervalSec`. */
export function replayInventoryRecord(inv: InventoryState, value: unknown, defaultIntervalSec: number): void {
  if (!isRec(value)) return;
  const mac = str(value.mac);
  switch (value.t) {
    case "dev": {
      if (mac === undefined) return;
      const d =
        inv.devices.get(mac) ??
        addDeviceEntry(inv.devices, mac, value.d === "veil" ? "veil" : "unifi", num(value.fs) ?? 0, defaultIntervalSec);
      d.dialect = value.d === "veil" ? "veil" : "unifi";
      d.adopted = value.a === true;
      const alias = str(value.al);
      if (alias === undefined) delete d.alias;
      else d.alias = alias;
      d.intervalSec = num(value.i) ?? d.intervalSec;
      d.firstSeen = num(value.fs) ?? d.firstSeen;
      d.lastSeen = Math.max(d.lastSeen, num(value.ls) ?? 0);
      return;
    }
    case "st": {
      const d = mac === undefined ? undefined : inv.devices.get(mac);
      if (d && typeof value.s === "object" && value.s !== null) {
        d.state = value.s as TDeviceState;
        d.lastSeen = Math.max(d.lastSeen, num(value.ls) ?? 0);
      }
      return;
    }
    case "key": {
      const d = mac === undefined ? undefined : inv.devices.get(mac);
      if (!d) return;
      if ("ak" in value) setOpt(d, "authkey", str(value.ak));
      // `akc` is written with every `ak`: an `ak` without it (an older companion's) has no holder.
      if ("akc" in value || "ak" in value) setOpt(d, "authkeyCert", str(value.akc));
      if ("pak" in value) setOpt(d, "pendingAuthkey", str(value.pak));
      if ("hak" in value) {
        const handed = Array.isArray(value.hak) ? value.hak.flatMap(handedAuthkey) : [];
        if (handed.length > 0) d.handedAuthkeys = handed.slice(-MAX_HANDED_AUTHKEYS);
        else delete d.handedAuthkeys;
      }
      if ("vk" in value) {
        const vk = value.vk as { id?: unknown; k?: unknown } | null;
        if (vk && typeof vk.id === "string" && typeof vk.k === "string") d.veilKey = { id: vk.id, k: vk.k };
        else delete d.veilKey;
      }
      return;
    }
    case "smp": {
      const d = mac === undefined ? undefined : inv.devices.get(mac);
      const m = num(value.m);
      if (!d || m === undefined) return;
      (d.history ??= new DeviceHistory()).put({
        m,
        cpu: num(value.c) ?? 0,
        mem: num(value.mem) ?? 0,
        rx: num(value.rx) ?? 0,
        tx: num(value.tx) ?? 0,
      });
      d.lastSeen = Math.max(d.lastSeen, num(value.ls) ?? 0);
      return;
    }
    case "hist": {
      const d = mac === undefined ? undefined : inv.devices.get(mac);
      if (!d || !Array.isArray(value.h)) return;
      d.history ??= new DeviceHistory();
      for (const row of value.h as unknown[]) {
        if (!Array.isArray(row)) continue;
        const [m, c, mem, rx, tx] = row as unknown[];
        if (typeof m === "number")
          d.history.put({ m, cpu: num(c) ?? 0, mem: num(mem) ?? 0, rx: num(rx) ?? 0, tx: num(tx) ?? 0 });
      }
      return;
    }
    case "out": {
      const start = num(value.s);
      if (mac === undefined || start === undefined) return;
      const end = num(value.e) ?? null;
      const existing = inv.outages.find((o) => o.mac === mac && o.start === start);
      if (existing) existing.end = end;
      else pushOutage(inv.outages, { mac, start, end });
      const d = inv.devices.get(mac);
      if (d) {
        if (end === null) d.outageStart = start;
        else if (d.outageStart === start) delete d.outageStart;
      }
      return;
    }
    case "cmd": {
      const r = value.r as TDeviceCommandRecord | undefined;
      if (r && typeof r.commandId === "string") upsertCommand(inv.commands, r);
      return;
    }
    case "site": {
      const id = str(value.id);
      const k = str(value.k);
      if (id === undefined || k === undefined) return;
      const entry: SiteKeyEntry = { id, k, at: num(value.at) ?? 0 };
      const gu = num(value.gu);
      if (gu !== undefined) entry.graceUntil = gu;
      inv.siteKeys = [...inv.siteKeys.filter((s) => s.id !== id), entry];
      return;
    }
    case "del":
      if (mac !== undefined) inv.devices.delete(mac);
      return;
    case "site-rm":
      inv.siteKeys = inv.siteKeys.filter((s) => s.id !== str(value.id));
      return;
    default:
      return;
  }
}
