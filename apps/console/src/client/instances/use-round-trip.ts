"use client";
import { useEffect, useState } from "react";
import type { InstanceChannel } from "./e2e-channel";
import { PING_EVERY_MS } from "./use-channel";

/** Round-trip time of pings over the open channel in ms; null while measuring or closed. */
export function useRoundTrip(open: InstanceChannel | null): number | null {
  const [rtt, setRtt] = useState<number | null>(null);
  useEffect(() => {
    setRtt(null);
    if (!open) return;
    let stop = false;
    const ping = () => {
      const t0 = performance.now();
      open.request("ping", {}).then(
        () => !stop && setRtt(performance.now() - t0),
        () => undefined,
      );
    };
    ping();
    const t = setInterval(ping, PING_EVERY_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [open]);
  return rtt;
}
