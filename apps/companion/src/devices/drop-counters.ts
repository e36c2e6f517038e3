/**
 * Counters of what the inform servers accepted and dropped, by dialect and reason
 * (`unifi.auth_failed`, `veil.replayed`, `unifi.rate_limited_ip`, …). Reasons are stable
 * strings; the values only grow. Shown by `devices.stats` and in devices-status.json.
 */
export class DropCounters {
  readonly #counts = new Map<string, number>();

  /** Adds `n` to `name`. */
  add(name: string, n = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
  }

  /** The current value of `name` (0 when never counted). */
  get(name: string): number {
    return this.#counts.get(name) ?? 0;
  }

  /** Sum of every counter whose name starts with `prefix`. */
  sum(prefix: string): number {
    let n = 0;
    for (const [k, v] of this.#counts) if (k.startsWith(prefix)) n += v;
    return n;
  }

  /** A plain copy, sorted by name. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
