/**
 * Bounded bookkeeping of the inventory: new device entries, the outage and command lists
 * (oldest dropped first) and the change feed live watchers poll.
 */
import type { TDeviceCommandRecord, TDeviceDialect, TOutage } from "../protocol";
import { MAX_CHANGES, MAX_COMMANDS, MAX_OUTAGES, type DeviceEntry } from "./inventory-types";

/** Creates a pending, not adopted entry for `mac` and adds it to `devices`. */
export function addDeviceEntry(
  devices: Map<string, DeviceEntry>,
  mac: string,
  dialect: TDeviceDialect,
  now: number,
  intervalSec: number,
): DeviceEntry {
  const d: DeviceEntry = {
    mac,
    dialect,
    adopted: false,
    intervalSec,
    firstSeen: now,
    lastSeen: now,
    status: "pending",
    stateSavedAt: 0,
  };
  devices.set(mac, d);
  return d;
}

/** Appends an outage, keeping at most MAX_OUTAGES. */
export function pushOutage(outages: TOutage[], o: TOutage): void {
  outages.push(o);
  if (outages.length > MAX_OUTAGES) outages.splice(0, outages.length - MAX_OUTAGES);
}

/** Replaces the command with the same id, or appends it keeping at most MAX_COMMANDS. */
export function upsertCommand(commands: TDeviceCommandRecord[], r: TDeviceCommandRecord): void {
  const i = commands.findIndex((c) => c.commandId === r.commandId);
  if (i >= 0) commands[i] = r;
  else {
    commands.push(r);
    if (commands.length > MAX_COMMANDS) commands.splice(0, commands.length - MAX_COMMANDS);
  }
}

/** Which devices changed, by sequence number, for live watchers. */
export class ChangeFeed {
  #seq = 0;
  #changes: { seq: number; mac: string }[] = [];

  /** Sequence number of the latest change. */
  get seq(): number {
    return this.#seq;
  }

  /** MACs changed after `seq`; `undefined` when `seq` is too old to answer (resync). */
  since(seq: number): string[] | undefined {
    const first = this.#changes[0];
    if (seq >= this.#seq) return [];
    if (first === undefined || first.seq > seq + 1) return undefined;
    const out = new Set<string>();
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      const c = this.#changes[i];
      if (c === undefined || c.seq <= seq) break;
      out.add(c.mac);
    }
    return [...out];
  }

  /** Records a change of `mac`. */
  add(mac: string): void {
    this.#changes.push({ seq: ++this.#seq, mac });
    if (this.#changes.length > MAX_CHANGES) this.#changes.splice(0, this.#changes.length - MAX_CHANGES / 2);
  }
}
