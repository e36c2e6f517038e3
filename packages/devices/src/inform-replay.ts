/**
 * Replay detection for UniFi inform packets. The TNBU format carries no counter, only a random
 * 16-byte IV per packet, so an exact replay is recognised by its IV: the companion remembers
 * the IVs of the last hour of informs of each device (and at most `maxDevices` devices, least
 * recently seen evicted first). A replay older than that window is not caught here, and
 * nothing else catches it yet: the payload's `uptime`/`time` are not checked for monotonicity.
 *
 * Storage is compact: per device one ring of 64-bit IV fingerprints (paired Uint32Arrays),
 * 8 bytes per remembered inform instead of a base64 string in a Set. 10,000
 * devices informing every 10 s (360 informs an hour) hold ~29 MB.
 */

/** How long a device's IVs are remembered, in informs at its interval: one hour. */
export const INFORM_REPLAY_WINDOW_SEC = 3600;

/** Never remember fewer informs than this, whatever the interval (devices may inform early). */
export const INFORM_REPLAY_MIN_ENTRIES = 64;

/**
 * Ring size that covers {@link INFORM_REPLAY_WINDOW_SEC} for a device informing every
 * `intervalSec` seconds: 360 at 10 s, 3,600 at 1 s (the shortest interval the companion
 * accepts), never below {@link INFORM_REPLAY_MIN_ENTRIES}.
 */
export function informReplayWindow(intervalSec: number): number {
  if (!Number.isFinite(intervalSec) || intervalSec <= 0) throw new RangeError("intervalSec must be positive");
  return Math.max(INFORM_REPLAY_MIN_ENTRIES, Math.ceil(INFORM_REPLAY_WINDOW_SEC / intervalSec));
}

/**
 * One device's ring: entry i's fingerprint is `hi[i]`:`lo[i]`, two views over one buffer. The
 * high words are searched with the native `indexOf`; the low word confirms a match.
 */
interface Ring {
  hi: Uint32Array;
  lo: Uint32Array;
  /** Entries in use (≤ capacity); slots past it are unused. */
  count: number;
  /** Slot the next entry goes to (the oldest once the ring is full). */
  next: number;
}

function newRing(capacity: number): Ring {
  const buffer = new ArrayBuffer(capacity * 8);
  return {
    hi: new Uint32Array(buffer, 0, capacity),
    lo: new Uint32Array(buffer, capacity * 4, capacity),
    count: 0,
    next: 0,
  };
}

const IV_LENGTH = 16;

/** Bounded memory of recently seen inform IVs. */
export class InformReplayCache {
  private readonly devices = new Map<string, Ring>();

  /**
   * @param perDevice informs remembered per device when `check` is not given a window.
   * @param maxDevices devices tracked; the least recently seen is forgotten beyond it.
   */
  constructor(
    private readonly perDevice = informReplayWindow(10),
    private readonly maxDevices = 20_000,
  ) {
    if (!Number.isInteger(perDevice) || perDevice < 1) throw new RangeError("perDevice must be a positive integer");
    if (!Number.isInteger(maxDevices) || maxDevices < 1) throw new RangeError("maxDevices must be a positive integer");
  }

  /**
   * Records the IV of an authenticated packet; returns false if this device already sent it
   * within its window (a replay — drop the packet). Call only after decryption succeeded, so
   * garbage cannot evict real entries.
   *
   * `window` (default `perDevice`) is how many of the device's latest informs to remember; the
   * ring grows to it and never shrinks while the device is tracked (after an interval goes from
   * 1 s to 10 s, the last hour still holds 3,600 informs sent at 1 s).
   *
   * The fingerprint is the IV's first 8 bytes. IVs are random, so a new honest IV matches one
   * of the W remembered fingerprints with probability W·2^-64 (2^-52 at W = 3,600): a false
   * "replay" would drop one honest inform, the next one gets through; nothing else is lost.
   * A forger cannot aim a collision at a future IV it does not know, and a device's own key
   * holder can do anything anyway.
   */
  check(mac: string, iv: Uint8Array, window = this.perDevice): boolean {
    if (!(iv instanceof Uint8Array) || iv.length !== IV_LENGTH) throw new TypeError("iv must be 16 bytes");
    if (!Number.isInteger(window) || window < 1) throw new RangeError("window must be a positive integer");
    const view = new DataView(iv.buffer, iv.byteOffset, IV_LENGTH);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const ring = this.touch(mac, window);
    const { hi: his, lo: los, count } = ring;
    for (let i = his.indexOf(hi); i !== -1 && i < count; i = his.indexOf(hi, i + 1)) if (los[i] === lo) return false;
    his[ring.next] = hi;
    los[ring.next] = lo;
    ring.next = (ring.next + 1) % his.length;
    if (count < his.length) ring.count = count + 1;
    return true;
  }

  /** The device's ring, most recently seen now, at least `window` entries long. */
  private touch(mac: string, window: number): Ring {
    let ring = this.devices.get(mac);
    if (ring) {
      this.devices.delete(mac); // re-insert: most recently seen last
      if (ring.hi.length < window) ring = grow(ring, window);
    } else {
      if (this.devices.size >= this.maxDevices) {
        const oldest = this.devices.keys().next().value;
        if (oldest !== undefined) this.devices.delete(oldest);
      }
      ring = newRing(window);
    }
    this.devices.set(mac, ring);
    return ring;
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

/** Copies a ring into a larger one, oldest entry first, so the eviction order is kept. */
function grow(ring: Ring, window: number): Ring {
  const capacity = ring.hi.length;
  const bigger = newRing(window);
  const start = ring.count < capacity ? 0 : ring.next;
  for (let i = 0; i < ring.count; i++) {
    const from = (start + i) % capacity;
    bigger.hi[i] = ring.hi[from] ?? 0;
    bigger.lo[i] = ring.lo[from] ?? 0;
  }
  bigger.count = ring.count;
  bigger.next = ring.count;
  return bigger;
}
