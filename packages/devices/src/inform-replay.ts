/**
 * Replay detection for UniFi inform packets. The TNBU format carries no counter, only a random
 * 16-byte IV per packet, so an exact replay is recognised by its IV: the companion remembers
 * the last `perDevice` IVs of each device (and at most `maxDevices` devices, least recently
 * seen evicted first). A replay older than that window is not caught here; the payload's
 * `uptime`/`time` moving backwards is the companion's second check.
 */

/** Bounded memory of recently seen inform IVs. */
export class InformReplayCache {
  private readonly devices = new Map<string, Set<string>>();

  constructor(
    private readonly perDevice = 64,
    private readonly maxDevices = 20_000,
  ) {
    if (!Number.isInteger(perDevice) || perDevice < 1) throw new RangeError("perDevice must be a positive integer");
    if (!Number.isInteger(maxDevices) || maxDevices < 1) throw new RangeError("maxDevices must be a positive integer");
  }

  /**
   * Records the IV of an authenticated packet; returns false if this device already sent it
   * (a replay — drop the packet). Call only after decryption succeeded, so garbage cannot
   * evict real entries.
   */
  check(mac: string, iv: Uint8Array): boolean {
    const key = Buffer.from(iv).toString("base64");
    let seen = this.devices.get(mac);
    if (seen) {
      this.devices.delete(mac); // re-insert: most recently seen last
    } else {
      seen = new Set();
      if (this.devices.size >= this.maxDevices) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
    }
    this.devices.set(mac, seen);
    if (seen.has(key)) return false;
    seen.add(key);
    if (seen.size > this.perDevice) {
      const first = seen.values().next().value;
      if (first !== undefined) seen.delete(first);
    }
    return true;
  }

  /** Forgets a device (after re-adoption or deletion). */
  forget(mac: string): void {
    this.devices.delete(mac);
  }

  /** Devices currently tracked. */
  get size(): number {
    return this.devices.size;
  }
}
