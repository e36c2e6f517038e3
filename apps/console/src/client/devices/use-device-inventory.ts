"use client";
/**
 * The devices of a site, live, held in the browser as a Map keyed by MAC:
 *
 * - loads every row through `devices.list` (paged, load-inventory.ts);
 * - one `devices.watch` over the whole inventory applies `devices.changed` deltas; `resync`
 *   (more than 100 changed in one interval) lists everything again, at most every RESYNC_MIN_MS,
 *   swapping the new Map in at once;
 * - a second `devices.watch` limited to the rows on screen (`macs`) keeps those fresh even while
 *   the whole-inventory watch is resyncing;
 * - events are queued and applied once per animation frame, so a burst costs one render.
 *
 * Each applied batch and each full load is recorded with `performance.measure`
 * (`veil.devices.batch`, `veil.devices.load`, with `detail.rows`) once the page has rendered it — the benchmark
 * (bench/devices-page.ts) reads those.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { ZDevicesChangedSchema, type TDevicesChanged, type TDeviceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import type { InstanceChannel, Stream } from "../instances/e2e-channel";
import { loadInventory } from "./load-inventory";

/** Status counts over the whole inventory. */
export type StatusCounts = TDevicesChanged["counts"];

/** Live update period asked of the companion for the whole inventory (mostly counts and resyncs). */
const WATCH_INTERVAL_MS = 1000;
/**
 * Period for the rows on screen: a tick with no change sends nothing, so this bounds how stale
 * a visible row can be (bench/devices-ingest.ts measures arrival → browser at this setting).
 */
export const ON_SCREEN_WATCH_MS = 100;
/** Least time between two full reloads caused by `resync`. */
export const RESYNC_MIN_MS = 10_000;
/** Wait after the visible rows change before re-subscribing for them. */
const VISIBLE_DEBOUNCE_MS = 300;

export interface DeviceInventory {
  /** The rows; mutated in place, `version` changes with every applied change. */
  readonly devices: ReadonlyMap<string, TDeviceSummary>;
  readonly version: number;
  readonly counts: StatusCounts | null;
  /** The first full load has not finished. */
  readonly loading: boolean;
  readonly progress: { loaded: number; total: number } | null;
  readonly truncated: boolean;
  readonly error: string | null;
  /** The whole-inventory watch is running. */
  readonly live: boolean;
  /** When the last change was applied (ms since the epoch). */
  readonly updatedAt: number | null;
  /** The MACs on screen (at most 100 are watched). */
  readonly setVisible: (macs: readonly string[]) => void;
  /** Call after rendering `version` (records the timing measures). */
  readonly rendered: (version: number) => void;
}

type Pending = Map<string, TDeviceSummary | null>;

export function useDeviceInventory(channel: InstanceChannel | null): DeviceInventory {
  const devicesRef = useRef(new Map<string, TDeviceSummary>());
  const [version, setVersion] = useState(0);
  const [counts, setCounts] = useState<StatusCounts | null>(null);
  const [loading, setLoading] = useState(true);
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  /** performance.now() at which each not-yet-rendered version's work began, by measure name. */
  const marks = useRef(new Map<number, { name: string; start: number; rows: number }>());
  const versionRef = useRef(0);
  const [visible, setVisibleState] = useState<string>("");

  const bump = useCallback((name: string, start: number, rows: number) => {
    versionRef.current += 1;
    marks.current.set(versionRef.current, { name, start, rows });
    setVersion(versionRef.current);
    setUpdatedAt(Date.now());
  }, []);

  const rendered = useCallback((v: number) => {
    for (const [k, m] of marks.current) {
      if (k > v) continue;
      marks.current.delete(k);
      if (typeof performance.measure === "function")
        performance.measure(m.name, { start: m.start, end: performance.now(), detail: { rows: m.rows } });
    }
  }, []);

  // Whole inventory: load, watch, resync.
  useEffect(() => {
    if (!channel) return;
    let stopped = false;
    let stream: Stream | null = null;
    const pending: Pending = new Map();
    let pendingSince = 0;
    let frame: number | null = null;
    let loadingNow = false;
    let resyncTimer: ReturnType<typeof setTimeout> | null = null;
    let lastLoadEnd = 0;

    const flush = () => {
      frame = null;
      if (stopped || loadingNow || pending.size === 0) return;
      const map = devicesRef.current;
      for (const [mac, d] of pending) {
        if (d === null) map.delete(mac);
        else map.set(mac, d);
      }
      const rows = pending.size;
      pending.clear();
      bump("veil.devices.batch", pendingSince, rows);
    };
    const schedule = () => {
      if (frame === null && !loadingNow) frame = requestAnimationFrame(flush);
    };
    const reload = async () => {
      if (loadingNow || stopped) return;
      loadingNow = true;
      const start = performance.now();
      let failed = false;
      try {
        const loaded = await loadInventory(channel, (n, total) => {
          if (!stopped && versionRef.current === 0) setProgress({ loaded: n, total });
        });
        if (stopped) return;
        // Deltas that arrived during the load are newer than (or as new as) the pages.
        for (const [mac, d] of pending) {
          if (d === null) loaded.devices.delete(mac);
          else loaded.devices.set(mac, d);
        }
        pending.clear();
        devicesRef.current = loaded.devices;
        setCounts(loaded.counts);
        setTruncated(loaded.truncated);
        setError(null);
        bump("veil.devices.load", start, loaded.devices.size);
      } catch (e) {
        failed = true;
        if (!stopped) setError(errorMessage(e));
      } finally {
        loadingNow = false;
        lastLoadEnd = Date.now();
        if (!stopped) setLoading(false);
        // A failed listing (a timeout, `rate_limited`) is tried again after RESYNC_MIN_MS.
        if (failed) resync();
      }
    };
    const resync = () => {
      if (resyncTimer !== null || stopped) return;
      const wait = Math.max(0, lastLoadEnd + RESYNC_MIN_MS - Date.now());
      resyncTimer = setTimeout(() => {
        resyncTimer = null;
        void reload();
      }, wait);
    };
    const onEvent = (ev: TDevicesChanged) => {
      setCounts(ev.counts);
      if (ev.resync) return resync();
      if (pending.size === 0) pendingSince = performance.now();
      for (const d of ev.devices) pending.set(d.mac, d);
      for (const mac of ev.removed) pending.set(mac, null);
      schedule();
    };
    setLoading(versionRef.current === 0);
    channel
      .subscribe("devices.watch", { intervalMs: WATCH_INTERVAL_MS }, "devices.changed", ZDevicesChangedSchema, {
        onEvent,
        onEnd: () => {
          if (!stopped) setLive(false);
        },
      })
      .then(
        (s) => {
          if (stopped) return s.cancel();
          stream = s;
          setLive(true);
        },
        (e: unknown) => !stopped && setError(errorMessage(e)),
      );
    void reload();
    return () => {
      stopped = true;
      stream?.cancel();
      if (frame !== null) cancelAnimationFrame(frame);
      if (resyncTimer !== null) clearTimeout(resyncTimer);
      setLive(false);
    };
  }, [channel, bump]);

  // The rows on screen, watched on their own.
  useEffect(() => {
    if (!channel || visible === "") return;
    const macs = visible.split(",");
    let stopped = false;
    let stream: Stream | null = null;
    const t = setTimeout(() => {
      channel
        .subscribe(
          "devices.watch",
          { intervalMs: ON_SCREEN_WATCH_MS, macs },
          "devices.changed",
          ZDevicesChangedSchema,
          {
            onEvent: (ev) => {
              if (ev.devices.length === 0 && ev.removed.length === 0) return;
              const start = performance.now();
              requestAnimationFrame(() => {
                if (stopped) return;
                const map = devicesRef.current;
                for (const d of ev.devices) map.set(d.mac, d);
                for (const mac of ev.removed) map.delete(mac);
                bump("veil.devices.batch", start, ev.devices.length + ev.removed.length);
              });
            },
            onEnd: () => undefined,
          },
        )
        .then(
          (s) => (stopped ? s.cancel() : (stream = s)),
          () => undefined, // The whole-inventory watch reports channel errors.
        );
    }, VISIBLE_DEBOUNCE_MS);
    return () => {
      stopped = true;
      clearTimeout(t);
      stream?.cancel();
    };
  }, [channel, visible, bump]);

  const setVisible = useCallback((macs: readonly string[]) => {
    setVisibleState(macs.slice(0, 100).join(","));
  }, []);

  return {
    devices: devicesRef.current,
    version,
    counts,
    loading,
    progress,
    truncated,
    error,
    live,
    updatedAt,
    setVisible,
    rendered,
  };
}
