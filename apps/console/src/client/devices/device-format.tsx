/** Small display pieces of the devices pages: status pill, relative time, rates. */
import type { TDeviceStatus } from "@veil/protocol";

const STATUS_CLASS: Record<TDeviceStatus, string> = {
  online: "badge outcome-success",
  offline: "badge outcome-failure",
  pending: "badge",
};

/** A device's status as a badge (text, not colour alone). */
export function StatusPill({ status }: { status: TDeviceStatus }) {
  return (
    <span className={STATUS_CLASS[status]} data-testid="device-status">
      {status}
    </span>
  );
}

/** "12 s ago" for an epoch-ms time, with the exact time as title. */
export function Ago({ at, now = Date.now() }: { at: number; now?: number }) {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  const text =
    seconds < 60
      ? `${seconds} s ago`
      : seconds < 3600
        ? `${Math.round(seconds / 60)} min ago`
        : seconds < 86_400
          ? `${Math.round(seconds / 3600)} h ago`
          : new Date(at).toLocaleDateString();
  const iso = new Date(at).toISOString();
  return (
    <time dateTime={iso} title={new Date(at).toLocaleString()}>
      {text}
    </time>
  );
}

/** Bits per second from bytes per second, with a unit. */
export function bitRate(bytesPerSecond: number): string {
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
  let v = bytesPerSecond * 8;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u] ?? "bit/s"}`;
}

/** A length of time from milliseconds: "3 h 12 min", "45 s". */
export function spanOf(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** Local date and time of an epoch-ms instant. */
export function when(at: number): string {
  return new Date(at).toLocaleString();
}
