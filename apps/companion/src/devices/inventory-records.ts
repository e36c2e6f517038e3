/**
 * The inventory's log records (shapes in docs/COMPANION-DEVICES.md): field readers for replay,
 * the records that describe a device and a site key, and the full snapshot for compaction.
 */
import type { DeviceEntry, InventoryState, SiteKeyEntry } from "./inventory-types";

/** One log record. */
export type Rec = Record<string, unknown> & { t: string };

export const isRec = (v: unknown): v is Rec =>
  typeof v === "object" && v !== null && typeof (v as { t?: unknown }).t === "string";
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The identity record of a device (dialect, adoption, alias, interval, first/last seen). */
export function devRecord(d: DeviceEntry): Rec {
  return {
    t: "dev",
    mac: d.mac,
    d: d.dialect,
    a: d.adopted,
    ...(d.alias !== undefined ? { al: d.alias } : {}),
    i: d.intervalSec,
    fs: d.firstSeen,
    ls: d.lastSeen,
  };
}

/** The record of a site key. */
export function siteRecord(s: SiteKeyEntry): Rec {
  return { t: "site", id: s.id, k: s.k, at: s.at, ...(s.graceUntil !== undefined ? { gu: s.graceUntil } : {}) };
}

/**
 * Every record needed to rebuild the inventory (for compaction). Background compaction walks
 * this over many event-loop turns while devices keep reporting, so the first step copies the
 * lists it walks (device MACs, outages, commands: the state as of the log rotation); a device
 * gone since is skipped, and anything changed since is also in the new log, which replays after.
 */
export function* snapshotRecords(inv: InventoryState, now: number): Generator<Rec> {
  const siteKeys = inv.siteKeys;
  const macs = [...inv.devices.keys()];
  const outages = inv.outages.map((o) => ({ ...o }));
  const commands = [...inv.commands];
  for (const s of siteKeys) yield siteRecord(s);
  for (const mac of macs) {
    const d = inv.devices.get(mac);
    if (d === undefined) continue;
    yield devRecord(d);
    const keys: Rec = { t: "key", mac: d.mac };
    if (d.authkey !== undefined) keys.ak = d.authkey;
    if (d.authkeyCert !== undefined) keys.akc = d.authkeyCert;
    if (d.pendingAuthkey !== undefined) keys.pak = d.pendingAuthkey;
    if (d.handedAuthkeys !== undefined) keys.hak = d.handedAuthkeys;
    if (d.veilKey !== undefined) keys.vk = d.veilKey;
    if (Object.keys(keys).length > 2) yield keys;
    if (d.state) yield { t: "st", mac: d.mac, s: d.state, ls: d.lastSeen };
    const samples = d.history?.samples(now) ?? [];
    if (samples.length > 0) yield { t: "hist", mac: d.mac, h: samples.map((s) => [s.m, s.cpu, s.mem, s.rx, s.tx]) };
  }
  for (const o of outages) yield { t: "out", mac: o.mac, s: o.start, e: o.end };
  for (const r of commands) yield { t: "cmd", r };
}
