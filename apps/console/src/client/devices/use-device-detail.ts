"use client";
/**
 * One device, live: `devices.get` (details, interfaces, clients, history, last commands) now
 * and every DETAIL_REFRESH_MS, plus a `devices.watch` limited to this MAC so the summary
 * (status, CPU, uptime…) follows every inform within a second.
 */
import { useCallback, useEffect, useState } from "react";
import { ZDevicesChangedSchema, type TDeviceDetail, type TDeviceSummary } from "@veil/protocol";
import { errorMessage } from "../api";
import { RequestError, type InstanceChannel, type Stream } from "../instances/e2e-channel";
import { ON_SCREEN_WATCH_MS } from "./use-device-inventory";

const DETAIL_REFRESH_MS = 10_000;
/** History windows the charts offer (the companion keeps 24 h; ≤ 240 points each). */
export const HISTORY_WINDOWS = [
  { minutes: 60, label: "Last hour" },
  { minutes: 360, label: "Last 6 hours" },
  { minutes: 1440, label: "Last 24 hours" },
] as const;

export interface DeviceDetailState {
  readonly detail: TDeviceDetail | null;
  /** The freshest summary (from the watch, else from the detail). */
  readonly summary: TDeviceSummary | null;
  readonly error: string | null;
  readonly notFound: boolean;
  readonly live: boolean;
  readonly reload: () => void;
}

export function useDeviceDetail(
  channel: InstanceChannel | null,
  mac: string,
  historyMinutes: number,
): DeviceDetailState {
  const [detail, setDetail] = useState<TDeviceDetail | null>(null);
  const [summary, setSummary] = useState<TDeviceSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    if (!channel) return;
    let stopped = false;
    const load = () =>
      channel.request("devices.get", { mac, historyMinutes }).then(
        (d) => {
          if (stopped) return;
          setDetail(d);
          setSummary(d.summary);
          setError(null);
          setNotFound(false);
        },
        (e: unknown) => {
          if (stopped) return;
          if (e instanceof RequestError && e.error.code === "bad_request") setNotFound(true);
          else setError(errorMessage(e));
        },
      );
    void load();
    const t = setInterval(() => void load(), DETAIL_REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [channel, mac, historyMinutes, tick]);

  useEffect(() => {
    if (!channel) return;
    let stopped = false;
    let stream: Stream | null = null;
    channel
      .subscribe(
        "devices.watch",
        { intervalMs: ON_SCREEN_WATCH_MS, macs: [mac] },
        "devices.changed",
        ZDevicesChangedSchema,
        {
          onEvent: (ev) => {
            const d = ev.devices.find((x) => x.mac === mac);
            if (d) setSummary(d);
            if (ev.removed.includes(mac)) setNotFound(true);
          },
          onEnd: () => {
            if (!stopped) setLive(false);
          },
        },
      )
      .then(
        (s) => {
          if (stopped) return s.cancel();
          stream = s;
          setLive(true);
        },
        (e: unknown) => {
          if (!stopped) setError(errorMessage(e));
        },
      );
    return () => {
      stopped = true;
      stream?.cancel();
      setLive(false);
    };
  }, [channel, mac]);

  return { detail, summary, error, notFound, live, reload };
}
