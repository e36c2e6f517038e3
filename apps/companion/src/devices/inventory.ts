/**
 * The device inventory: every device the companion has heard of, its latest state, minute
 * history, outages, commands, keys and the site keys. All changes go through methods that
 * append a record to the store first-in-memory (the store syncs within a second); replaying
 * the same records rebuilds the same inventory (`apply`), and `snapshotRecords` writes the
 * whole of it for compaction. Record shapes are in docs/COMPANION-DEVICES.md.
 */
import type { TDeviceCommandRecord, TDeviceDialect, TDeviceState, TDeviceSummary, TOutage } from "../protocol";
import { addToMinute, openMinuteSample } from "./aggregate-device-minute";
import { DeviceHistory, type MinuteSample } from "./history";
import { addDeviceEntry, ChangeFeed, pushOutage, upsertCommand } from "./inventory-bookkeeping";
import { devRecord, siteRecord, snapshotRecords, type Rec } from "./inventory-records";
import {
  MINUTE,
  STATE_RECORD_EVERY_MS,
  type DeviceEntry,
  type HandedAuthkey,
  type InventoryState,
  type SiteKeyEntry,
} from "./inventory-types";
import { replayInventoryRecord } from "./replay-inventory-record";
import type { AppendStore } from "./store/append-store";
import { summarizeDevice } from "./summarize-device";

export { MAX_COMMANDS, MAX_OUTAGES, type DeviceEntry, type SiteKeyEntry } from "./inventory-types";

/** A pending device silent this long may be evicted when the inventory is full. */
export const PENDING_EVICTABLE_AFTER_MS = 10 * MINUTE;
/** A pending UniFi device handed an authkey over HTTPS is not evicted for this long after. */
export const HANDED_AUTHKEY_PLACE_MS = 24 * 60 * MINUTE;
/** A site-key enrolment never heard from after it … */
export const ENROLMENT_SEEN_WITHIN_MS = 10 * MINUTE;
/** … may be evicted when the inventory is full once silent this long. */
export const ENROLLED_EVICTABLE_AFTER_MS = 24 * 60 * MINUTE;

/** The in-memory inventory, persisted through an AppendStore. */
export class Inventory implements InventoryState {
  readonly devices = new Map<string, DeviceEntry>();
  outages: TOutage[] = [];
  commands: TDeviceCommandRecord[] = [];
  siteKeys: SiteKeyEntry[] = [];
  readonly #changes = new ChangeFeed();
  readonly #evictionListeners: ((mac: string) => void)[] = [];
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
    return this.#changes.seq;
  }

  /** MACs changed after `seq`; `undefined` when `seq` is too old to answer (resync). */
  changedSince(seq: number): string[] | undefined {
    return this.#changes.since(seq);
  }

  /** Marks a device changed for watchers without writing anything (status recomputed). */
  touch(mac: string): void {
    this.#changed(mac);
  }

  #changed(mac: string): void {
    this.#changes.add(mac);
  }

  // ---- replay -------------------------------------------------------------------------

  /** Applies one replayed record; unknown or malformed records are skipped. */
  apply(value: unknown): void {
    replayInventoryRecord(this, value, this.defaultIntervalSec);
  }

  // ---- changes ------------------------------------------------------------------------

  /** The entry for `mac`, created (pending, not adopted) when new. */
  ensure(mac: string, dialect: TDeviceDialect, now: number): DeviceEntry {
    let d = this.devices.get(mac);
    if (d === undefined) {
      d = addDeviceEntry(this.devices, mac, dialect, now, this.defaultIntervalSec);
      this.#append(devRecord(d));
      this.#changed(mac);
    }
    return d;
  }

  /** Called with the MAC of every device evicted (replay memory forgets it). */
  onEvicted(listener: (mac: string) => void): void {
    this.#evictionListeners.push(listener);
  }

  /**
   * Makes room for a new device when the inventory is full: the pending device silent for
   * {@link PENDING_EVICTABLE_AFTER_MS} heard from least recently, else the Veil device
   * enrolled by site key that was seen only around its enrolment and is silent for
   * {@link ENROLLED_EVICTABLE_AFTER_MS} (anyone holding the site key can enrol made-up MACs;
   * such enrolments must not hold the inventory for good). Returns the evicted MAC, or
   * undefined when nothing could go.
   */
  evictStale(now: number): string | undefined {
    return this.evictStalePending(now, PENDING_EVICTABLE_AFTER_MS) ?? this.#evictNeverSeenEnrolled(now);
  }

  /** Forgets the pending device heard from least recently, if silent for `silentMs`. */
  evictStalePending(now: number, silentMs: number): string | undefined {
    let victim: DeviceEntry | undefined;
    for (const d of this.devices.values()) {
      if (
        !d.adopted &&
        now - d.lastSeen >= silentMs &&
        // A device just handed a key over HTTPS may not have informed yet: it keeps its place a day.
        !(d.handedAuthkeys ?? []).some((h) => h.at <= now && now - h.at < HANDED_AUTHKEY_PLACE_MS) &&
        (victim === undefined || d.lastSeen < victim.lastSeen)
      )
        victim = d;
    }
    return victim && this.#evict(victim);
  }

  #evictNeverSeenEnrolled(now: number): string | undefined {
    let victim: DeviceEntry | undefined;
    for (const d of this.devices.values()) {
      if (
        d.dialect === "veil" &&
        d.alias === undefined &&
        d.lastSeen - d.firstSeen < ENROLMENT_SEEN_WITHIN_MS &&
        now - d.lastSeen >= ENROLLED_EVICTABLE_AFTER_MS &&
        (victim === undefined || d.lastSeen < victim.lastSeen)
      )
        victim = d;
    }
    return victim && this.#evict(victim);
  }

  #evict(victim: DeviceEntry): string {
    this.devices.delete(victim.mac);
    this.#append({ t: "del", mac: victim.mac });
    this.#changed(victim.mac);
    for (const listener of this.#evictionListeners) listener(victim.mac);
    return victim.mac;
  }

  /** Saves identity changes (dialect, adoption, alias, interval). */
  saveDevice(d: DeviceEntry): void {
    this.#append(devRecord(d));
    this.#changed(d.mac);
  }

  /** Saves key changes of a device. */
  saveKeys(
    d: DeviceEntry,
    fields: {
      ak?: string | null;
      /** `authkeyCert`, written with every `ak`. */
      akc?: string | null;
      pak?: string | null;
      /** `handedAuthkeys` (a field older companions ignore, so a downgrade hands none of them out). */
      hak?: readonly HandedAuthkey[] | null;
      vk?: { id: string; k: string } | null;
    },
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
    addToMinute(d, state, now, m);
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
    return openMinuteSample(d);
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
    pushOutage(this.outages, { mac: d.mac, start, end: null });
    this.#append({ t: "out", mac: d.mac, s: start, e: null });
    this.#changed(d.mac);
  }

  /** Closes an outage. */
  endOutage(mac: string, start: number, end: number): void {
    const o = this.outages.find((x) => x.mac === mac && x.start === start);
    if (o) o.end = end;
    else pushOutage(this.outages, { mac, start, end });
    this.#append({ t: "out", mac, s: start, e: end });
  }

  /** Records (or updates) a command. */
  saveCommand(r: TDeviceCommandRecord): void {
    upsertCommand(this.commands, r);
    this.#append({ t: "cmd", r });
    this.#changed(r.mac);
  }

  /** Adds or updates a site key. */
  saveSiteKey(s: SiteKeyEntry): void {
    this.siteKeys = [...this.siteKeys.filter((x) => x.id !== s.id), s];
    this.#append(siteRecord(s));
  }

  /** Removes a site key. */
  removeSiteKey(id: string): void {
    this.siteKeys = this.siteKeys.filter((s) => s.id !== id);
    this.#append({ t: "site-rm", id });
  }

  // ---- snapshot -----------------------------------------------------------------------

  /** Every record needed to rebuild the inventory (for compaction). */
  snapshotRecords(now: number): Generator<Rec> {
    return snapshotRecords(this, now);
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
    return summarizeDevice(d);
  }
}
