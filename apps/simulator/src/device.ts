/**
 * One simulated device: identity, hardware, live counters and adoption state. All randomness
 * comes from the device's own seeded stream, all time from the `now` passed in, so a run with
 * the same seed and clock is the same run.
 */
import type { ChannelCredential, SiteKey } from "@veil/devices";
import type { ModelSpec } from "./catalog";
import { type Prng } from "./prng";

/** A network interface or port with growing counters. */
export interface SimInterface {
  name: string;
  mac: string;
  up: boolean;
  speedMbps: number;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  /** Bytes per second, drifting. */
  rate: number;
}

/** A connected client. */
export interface SimClient {
  mac: string;
  ip: string;
  hostname: string;
  signalDbm?: number;
  rxBytes: number;
  txBytes: number;
  since: number;
  rate: number;
}

/** Adoption state of the UniFi dialect. */
export interface UnifiAdoption {
  informUrl?: string;
  /** 32 hex once adopted; absent means the public default key. */
  authkey?: string;
  intervalSec: number;
  cmdResults: { _id: string; ok: boolean; output: string }[];
}

/** Adoption state of Veil's channel. */
export interface VeilAdoption {
  siteKey?: SiteKey;
  deviceKey?: ChannelCredential;
  intervalSec: number;
  /** The companion welcomed a session under the device key: it counts the device as adopted. */
  welcomed?: boolean;
}

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, "0");
const CLIENT_NAMES = [
  "iphone",
  "pixel",
  "macbook",
  "thinkpad",
  "printer",
  "tv",
  "nas",
  "camera",
  "thermostat",
  "ipad",
] as const;

/** One simulated device. */
export class SimDevice {
  readonly index: number;
  readonly mac: string;
  readonly ip: string;
  readonly spec: ModelSpec;
  readonly prng: Prng;
  hostname: string;
  firmware: string;
  bootedAt: number;
  locating = false;
  /** Offline (not informing, not answering discovery) until this time. */
  offlineUntil = 0;
  cpu: number;
  memUsed: number;
  interfaces: SimInterface[] = [];
  clients: SimClient[] = [];
  credentials: { username: string; password: string };
  readonly unifi: UnifiAdoption = { intervalSec: 10, cmdResults: [] };
  readonly veil: VeilAdoption = { intervalSec: 10 };
  private lastTick: number;

  constructor(
    index: number,
    mac: string,
    ip: string,
    spec: ModelSpec,
    prng: Prng,
    now: number,
    credentials: { username: string; password: string },
  ) {
    this.index = index;
    this.mac = mac;
    this.ip = ip;
    this.spec = spec;
    this.prng = prng;
    this.hostname = `${spec.kind}-${mac.slice(-5).replace(":", "")}`;
    this.firmware = prng.pick(spec.firmware);
    this.bootedAt = now - prng.int(60, 30 * 86400) * 1000;
    this.cpu = prng.int(1, 20);
    this.memUsed = Math.floor(spec.memoryBytes * (0.3 + prng.next() * 0.3));
    this.credentials = { ...credentials };
    this.lastTick = now;
    this.resetCounters(now);
  }

  /** True when the device is up (not rebooting, not in a simulated outage). */
  isOnline(now: number): boolean {
    return now >= this.offlineUntil;
  }

  /** Seconds since boot. */
  uptime(now: number): number {
    return Math.max(0, Math.floor((now - this.bootedAt) / 1000));
  }

  /** Reboots: offline for `durationMs`, uptime and counters start again. */
  reboot(now: number, durationMs: number): void {
    this.offlineUntil = now + durationMs;
    this.bootedAt = now + durationMs;
    this.locating = false;
    this.resetCounters(now + durationMs);
  }

  /** Advances counters, CPU, memory and clients to `now`. */
  tick(now: number): void {
    const dt = Math.max(0, (now - this.lastTick) / 1000);
    this.lastTick = now;
    if (!this.isOnline(now) || dt === 0) return;
    const p = this.prng;
    for (const i of this.interfaces) {
      if (!i.up) continue;
      i.rate = Math.max(1000, i.rate * (0.9 + p.next() * 0.2));
      const rx = Math.floor(i.rate * dt);
      const tx = Math.floor(i.rate * dt * 0.4);
      i.rxBytes += rx;
      i.txBytes += tx;
      i.rxPackets += Math.ceil(rx / 900);
      i.txPackets += Math.ceil(tx / 900);
    }
    for (const c of this.clients) {
      c.rxBytes += Math.floor(c.rate * dt);
      c.txBytes += Math.floor(c.rate * dt * 0.3);
    }
    this.cpu = Math.min(100, Math.max(0, this.cpu + p.int(-3, 3)));
    this.memUsed = Math.min(this.spec.memoryBytes, Math.max(0, this.memUsed + p.int(-1, 1) * 4096 * 16));
    const [lo, hi] = this.spec.clients;
    if (p.chance(0.1) && this.clients.length < hi) this.clients.push(this.newClient(now));
    else if (p.chance(0.1) && this.clients.length > lo) this.clients.splice(p.int(0, this.clients.length - 1), 1);
  }

  private resetCounters(now: number): void {
    const s = this.spec;
    const names =
      s.kind === "switch"
        ? Array.from({ length: s.ports }, (_, i) => `port${i + 1}`)
        : [...Array.from({ length: s.ports }, (_, i) => `eth${i}`), ...s.radios.map((_, i) => `wifi${i}`)];
    this.interfaces = names.map((name, i) => ({
      name,
      mac: this.mac.slice(0, 15) + hex2(parseInt(this.mac.slice(15), 16) + i),
      up: s.kind !== "switch" || this.prng.chance(0.7),
      speedMbps: name.startsWith("wifi") ? 866 : s.speedMbps,
      rxBytes: 0,
      txBytes: 0,
      rxPackets: 0,
      txPackets: 0,
      rate: this.prng.int(1_000, 2_000_000),
    }));
    const [lo, hi] = s.clients;
    this.clients = Array.from({ length: this.prng.int(lo, Math.max(lo, Math.floor(hi / 2))) }, () =>
      this.newClient(now),
    );
  }

  private newClient(now: number): SimClient {
    const p = this.prng;
    const b = p.bytes(5);
    const mac = ["02", ...Array.from(b, hex2)].join(":");
    return {
      mac,
      ip: `192.168.${p.int(1, 254)}.${p.int(2, 254)}`,
      hostname: `${p.pick(CLIENT_NAMES)}-${hex2(b[4] ?? 0)}`,
      ...(this.spec.kind === "ap" ? { signalDbm: p.int(-85, -35) } : {}),
      rxBytes: 0,
      txBytes: 0,
      since: now,
      rate: p.int(100, 500_000),
    };
  }
}
