/**
 * The device inventory: every device the companion has heard of, its latest state, minute
 * history, outages, commands, keys and the site keys. All changes go through methods that
 * append a record to the store first-in-memory (the store syncs within a second); replaying
 * the same records rebuilds the same inventory (`apply`), and `snapshotRecords` writes the
 * whole of it for compaction. Record shapes are in docs/COMPANION-DEVICES.md.
 */
import type {
  TDeviceCommandRecord,
  TDeviceDialect,
  TDeviceState,
  TDeviceStatus,
  TDeviceSummary,
  TOutage,
} from "../protocol";
import { DeviceHistory, type MinuteSample } from "./history";
import type { AppendStore } from "./store/append-store";

const MINUTE = 60_000;
/** Outages kept (oldest dropped first). */
export const MAX_OUTAGES = 10_000;
/** Command records kept. */
export const MAX_COMMANDS = 2_000;
/** Changes remembered for live watchers. */
const MAX_CHANGES = 50_000;
/** Full state written to the log at most this often per device (the snapshot has the latest). */
const STATE_RECORD_EVERY_MS = 5 * MINUTE;

interface Bucket {
  m: number;
  cpu: number;
  mem: number;
  n: number;
  rx: number;
  tx: number;
  ms: number;
}

/** One device. Secrets (`authkey`, `veilKey`) never leave the companion. */
export interface DeviceEntry {
  readonly mac: string;
  dialect: TDeviceDialect;
  adopted: boolean;
  alias?: string;
  intervalSec: number;
  firstSeen: number;
  lastSeen: number;
  status: TDeviceStatus;
  state?: TDeviceState;
  /** UniFi: the adopted authkey (32 hex). */
  authkey?: string;
  /** UniFi: an authkey sent in setparam but not yet used by the device. */
  pendingAuthkey?: string;
  /** Veil: the issued device key (key id hex, key base64url). */
  veilKey?: { id: string; k: string };
  history?: DeviceHistory;
  bucket?: Bucket;
  prev?: { rx: number; tx: number; at: number };
  outageStart?: number;
  stateSavedAt: number;
}

/** A site key (secret). */
export interface SiteKeyEntry {
  id: string;
  k: string;
  at: number;
  /** When set, the key is being rolled away and stops working at this time. */
  graceUntil?: number;
}

type Rec = Record<string, unknown> & { t: string };
const isRec = (v: unknown): v is Rec =>
  typeof v === "object" && v !== null && typeof (v as { t?: unknown }).t === "string";
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

const sumCounters = (s: TDeviceState): { rx: number; tx: number } => {
  let rx = 0;
  let tx = 0;
  for (const i of s.interfaces) {
    rx += i.rxBytes;
    tx += i.txBytes;
  }
  return { rx, tx };
};

/** The in-memory inventory, persisted through an AppendStore. */
export class Inventory {
  readonly devices = new Map<string, DeviceEntry>();
  outages: TOutage[] = [];
  commands: TDeviceCommandRecord[] = [];
  siteKeys: SiteKeyEntry[] = [];
  #changeSeq = 0;
  #changes: { seq: number; mac: string }[] = [];
  #store: AppendStore | undefined;

  constructor(private readonly defaultIntervalSec = 10) {}

  /** Attaches the store that later changes are appended to (after replay). */
  attach(store: AppendStore): void {
    this.#store = store;
  }

  #append(r: Rec): void {
    this.#store?.append(r);
  }

  /** Sequence number of the latest change (for watchers). */
  get changeSeq(): number {
    return this.#changeSeq;
  }

  /** MACs changed after `seq`; `undefined` when `seq` is too old to answer (resync). */
  changedSince(seq: number): string[] | undefined {
    const first = this.#changes[0];
    if (seq >= this.#changeSeq) return [];
    if (first === undefined || first.seq > seq + 1) return undefined;
    const out = new Set<string>();
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      const c = this.#changes[i];
      if (c === undefined || c.seq <= seq) break;
      out.add(c.mac);
    }
    return [...out];
  }

  /** Marks a device changed for watchers without writing anything (status recomputed). */
  touch(mac: string): void {
    this.#changed(mac);
  }

  #changed(mac: string): void {
    this.#changes.push({ seq: ++this.#changeSeq, mac });
    if (this.#changes.length > MAX_CHANGES) this.#changes.splice(0, this.#changes.length - MAX_CHANGES / 2);
  }

  // ---- replay -------------------------------------------------------------------------

  /** Applies one replayed record; unknown or malformed records are skipped. */
  apply(value: unknown): void {
    if (!isRec(value)) return;
    const mac = str(value.mac);
    switch (value.t) {
      case "dev": {
        if (mac === undefined) return;
        const d =
          this.devices.get(mac) ?? this.#newEntry(mac, value.d === "veil" ? "veil" : "unifi", num(value.fs) ?? 0);
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
        const d = mac === undefined ? undefined : this.devices.get(mac);
        if (d && typeof value.s === "object" && value.s !== null) {
          d.state = value.s as TDeviceState;
          d.lastSeen = Math.max(d.lastSeen, num(value.ls) ?? 0);
        }
        return;
      }
      case "key": {
        const d = mac === undefined ? undefined : this.devices.get(mac);
        if (!d) return;
        if ("ak" in value) this.#setOpt(d, "authkey", str(value.ak));
        if ("pak" in value) this.#setOpt(d, "pendingAuthkey", str(value.pak));
        if ("vk" in value) {
          const vk = value.vk as { id?: unknown; k?: unknown } | null;
          if (vk && typeof vk.id === "string" && typeof vk.k === "string") d.veilKey = { id: vk.id, k: vk.k };
          else delete d.veilKey;
        }
        return;
      }
      case "smp": {
        const d = mac === undefined ? undefined : this.devices.get(mac);
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
        const d = mac === undefined ? undefined : this.devices.get(mac);
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
        const existing = this.outages.find((o) => o.mac === mac && o.start === start);
        if (existing) existing.end = end;
        else this.#pushOutage({ mac, start, end });
        const d = this.devices.get(mac);
        if (d) {
          if (end === null) d.outageStart = start;
          else if (d.outageStart === start) delete d.outageStart;
        }
        return;
      }
      case "cmd": {
        const r = value.r as TDeviceCommandRecord | undefined;
        if (r && typeof r.commandId === "string") this.#upsertCommand(r);
        return;
      }
      case "site": {
        const id = str(value.id);
        const k = str(value.k);
        if (id === undefined || k === undefined) return;
        const entry: SiteKeyEntry = { id, k, at: num(value.at) ?? 0 };
        const gu = num(value.gu);
        if (gu !== undefined) entry.graceUntil = gu;
        this.siteKeys = [...this.siteKeys.filter((s) => s.id !== id), entry];
        return;
      }
      case "del":
        if (mac !== undefined) this.devices.delete(mac);
        return;
      case "site-rm":
        this.siteKeys = this.siteKeys.filter((s) => s.id !== str(value.id));
        return;
      default:
        return;
    }
  }

  #setOpt(d: DeviceEntry, field: "authkey" | "pendingAuthkey", v: string | undefined): void {
    if (v === undefined) delete d[field];
    else d[field] = v;
  }

  #newEntry(mac: string, dialect: TDeviceDialect, now: number): DeviceEntry {
    const d: DeviceEntry = {
      mac,
      dialect,
      adopted: false,
      intervalSec: this.defaultIntervalSec,
      firstSeen: now,
      lastSeen: now,
      status: "pending",
      stateSavedAt: 0,
    };
    this.devices.set(mac, d);
    return d;
  }

  #pushOutage(o: TOutage): void {
    this.outages.push(o);
    if (this.outages.length > MAX_OUTAGES) this.outages.splice(0, this.outages.length - MAX_OUTAGES);
  }

  #upsertCommand(r: TDeviceCommandRecord): void {
    const i = this.commands.findIndex((c) => c.commandId === r.commandId);
    if (i >= 0) this.commands[i] = r;
    else {
      this.commands.push(r);
      if (this.commands.length > MAX_COMMANDS) this.commands.splice(0, this.commands.length - MAX_COMMANDS);
    }
  }

  // ---- changes ------------------------------------------------------------------------

  #devRecord(d: DeviceEntry): Rec {
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

  /** The entry for `mac`, created (pending, not adopted) when new. */
  ensure(mac: string, dialect: TDeviceDialect, now: number): DeviceEntry {
    let d = this.devices.get(mac);
    if (d === undefined) {
      d = this.#newEntry(mac, dialect, now);
      this.#append(this.#devRecord(d));
      this.#changed(mac);
    }
    return d;
  }

  /**
   * Makes room for a new device when the inventory is full: forgets the pending (never
   * adopted) device heard from least recently, if it has been silent for `silentMs`. Returns
   * false when nothing could go (every entry adopted or recently heard).
   */
  evictStalePending(now: number, silentMs: number): boolean {
    let victim: DeviceEntry | undefined;
    for (const d of this.devices.values()) {
      if (!d.adopted && now - d.lastSeen >= silentMs && (victim === undefined || d.lastSeen < victim.lastSeen))
        victim = d;
    }
    if (victim === undefined) return false;
    this.devices.delete(victim.mac);
    this.#append({ t: "del", mac: victim.mac });
    this.#changed(victim.mac);
    return true;
  }

  /** Saves identity changes (dialect, adoption, alias, interval). */
  saveDevice(d: DeviceEntry): void {
    this.#append(this.#devRecord(d));
    this.#changed(d.mac);
  }

  /** Saves key changes of a device. */
  saveKeys(
    d: DeviceEntry,
    fields: { ak?: string | null; pak?: string | null; vk?: { id: string; k: string } | null },
  ): void {
    this.#append({ t: "key", mac: d.mac, ...fields });
  }

  /**
   * Takes one authenticated (or, when pending, merely parsed) state report: latest state,
   * minute aggregation (CPU, memory, traffic rate from counter deltas), online again.
   */
  report(d: DeviceEntry, state: TDeviceState, now: number, onlineAfterOutage: (start: number) => void): void {
    const m = Math.floor(now / MINUTE);
    if (d.bucket && d.bucket.m !== m) this.closeBucket(d);
    const b = (d.bucket ??= { m, cpu: 0, mem: 0, n: 0, rx: 0, tx: 0, ms: 0 });
    b.cpu += state.cpu;
    b.mem += state.memory.totalBytes > 0 ? (100 * state.memory.usedBytes) / state.memory.totalBytes : 0;
    b.n += 1;
    const c = sumCounters(state);
    if (d.prev && now > d.prev.at && c.rx >= d.prev.rx && c.tx >= d.prev.tx) {
      b.rx += c.rx - d.prev.rx;
      b.tx += c.tx - d.prev.tx;
      b.ms += now - d.prev.at;
    }
    d.prev = { rx: c.rx, tx: c.tx, at: now };
    const identityChanged =
      d.state === undefined ||
      d.state.hostname !== state.hostname ||
      d.state.firmware !== state.firmware ||
      d.state.model !== state.model ||
      d.state.ip !== state.ip;
    d.state = state;
    d.lastSeen = now;
    if (d.outageStart !== undefined) {
      const start = d.outageStart;
      delete d.outageStart;
      this.endOutage(d.mac, start, now);
      onlineAfterOutage(start);
    }
    d.status = d.adopted ? "online" : "pending";
    if (identityChanged || now - d.stateSavedAt >= STATE_RECORD_EVERY_MS) {
      d.stateSavedAt = now;
      this.#append({ t: "st", mac: d.mac, s: state, ls: now });
    }
    this.#changed(d.mac);
  }

  /** The current, still open minute as a sample (for live charts); undefined when none. */
  openSample(d: DeviceEntry): MinuteSample | undefined {
    const b = d.bucket;
    if (!b || b.n === 0) return undefined;
    return {
      m: b.m,
      cpu: Math.round((b.cpu / b.n) * 10) / 10,
      mem: Math.round((b.mem / b.n) * 10) / 10,
      rx: b.ms > 0 ? Math.round((b.rx * 1000) / b.ms) : 0,
      tx: b.ms > 0 ? Math.round((b.tx * 1000) / b.ms) : 0,
    };
  }

  /** Closes the device's current minute: one sample into history and the log. */
  closeBucket(d: DeviceEntry): void {
    const sample = this.openSample(d);
    delete d.bucket;
    if (sample === undefined) return;
    (d.history ??= new DeviceHistory()).put(sample);
    this.#append({
      t: "smp",
      mac: d.mac,
      m: sample.m,
      c: sample.cpu,
      mem: sample.mem,
      rx: sample.rx,
      tx: sample.tx,
      ls: d.lastSeen,
    });
  }

  /** Marks an adopted device offline and opens an outage. */
  startOutage(d: DeviceEntry, start: number): void {
    d.status = "offline";
    d.outageStart = start;
    this.#pushOutage({ mac: d.mac, start, end: null });
    this.#append({ t: "out", mac: d.mac, s: start, e: null });
    this.#changed(d.mac);
  }

  /** Closes an outage. */
  endOutage(mac: string, start: number, end: number): void {
    const o = this.outages.find((x) => x.mac === mac && x.start === start);
    if (o) o.end = end;
    else this.#pushOutage({ mac, start, end });
    this.#append({ t: "out", mac, s: start, e: end });
  }

  /** Records (or updates) a command. */
  saveCommand(r: TDeviceCommandRecord): void {
    this.#upsertCommand(r);
    this.#append({ t: "cmd", r });
    this.#changed(r.mac);
  }

  /** Adds or updates a site key. */
  saveSiteKey(s: SiteKeyEntry): void {
    this.siteKeys = [...this.siteKeys.filter((x) => x.id !== s.id), s];
    this.#append({
      t: "site",
      id: s.id,
      k: s.k,
      at: s.at,
      ...(s.graceUntil !== undefined ? { gu: s.graceUntil } : {}),
    });
  }

  /** Removes a site key. */
  removeSiteKey(id: string): void {
    this.siteKeys = this.siteKeys.filter((s) => s.id !== id);
    this.#append({ t: "site-rm", id });
  }

  // ---- snapshot -----------------------------------------------------------------------

  /** Every record needed to rebuild the inventory (for compaction). */
  *snapshotRecords(now: number): Generator<Rec> {
    for (const s of this.siteKeys)
      yield { t: "site", id: s.id, k: s.k, at: s.at, ...(s.graceUntil !== undefined ? { gu: s.graceUntil } : {}) };
    for (const d of this.devices.values()) {
      yield this.#devRecord(d);
      const keys: Rec = { t: "key", mac: d.mac };
      if (d.authkey !== undefined) keys.ak = d.authkey;
      if (d.pendingAuthkey !== undefined) keys.pak = d.pendingAuthkey;
      if (d.veilKey !== undefined) keys.vk = d.veilKey;
      if (Object.keys(keys).length > 2) yield keys;
      if (d.state) yield { t: "st", mac: d.mac, s: d.state, ls: d.lastSeen };
      const samples = d.history?.samples(now) ?? [];
      if (samples.length > 0) yield { t: "hist", mac: d.mac, h: samples.map((s) => [s.m, s.cpu, s.mem, s.rx, s.tx]) };
    }
    for (const o of this.outages) yield { t: "out", mac: o.mac, s: o.start, e: o.end };
    for (const r of this.commands) yield { t: "cmd", r };
  }

  // ---- views --------------------------------------------------------------------------

  /** Rows of the given MACs that exist. */
  summaries(macs: Iterable<string>): TDeviceSummary[] {
    const out: TDeviceSummary[] = [];
    for (const mac of macs) {
      const d = this.devices.get(mac);
      if (d) out.push(this.summary(d));
    }
    return out;
  }

  /** The row of the devices page for `d`. */
  summary(d: DeviceEntry): TDeviceSummary {
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
}
