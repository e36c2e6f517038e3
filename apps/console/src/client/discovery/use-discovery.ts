"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  ZDiscoveryResultsEventSchema,
  ZDiscoveryStartResultSchema,
  type ZDiscoveryStartBodySchema,
  type TDiscoveredDevice,
  type TDiscoveryResultsEvent,
  type TScopeRefusal,
} from "@veil/protocol";
import type { z } from "zod";
import { errorMessage } from "../api";
import { StreamNotStartedError, type InstanceChannel, type Stream } from "../instances/e2e-channel";

/** One device as the page shows it: every result for its MAC merged, latest values first. */
export interface FoundDevice {
  readonly mac: string;
  readonly ip: string;
  readonly model: string;
  readonly modelDisplay: string;
  readonly firmware: string;
  readonly hostname: string;
  readonly adopted: boolean;
  readonly certSha256: string | null;
  readonly certChanged: boolean;
  readonly https: boolean;
}

export interface DiscoveryState {
  readonly status: "idle" | "starting" | "running" | "done" | "refused" | "failed";
  /** Hosts the companion said it will probe (its own scope decision). */
  readonly hosts: number | null;
  readonly refused: readonly { target: string; reason: TScopeRefusal }[];
  readonly devices: readonly FoundDevice[];
  readonly stats: TDiscoveryResultsEvent["stats"] | null;
  readonly reason: TDiscoveryResultsEvent["reason"] | null;
  readonly error: string | null;
}

const IDLE: DiscoveryState = {
  status: "idle",
  hosts: null,
  refused: [],
  devices: [],
  stats: null,
  reason: null,
  error: null,
};

/** Most devices kept on the page (the companion sends at most 1,024 per scan). */
const MAX_DEVICES = 1024;

/** Adds one result to what is known about its MAC (a later HTTPS row adds the certificate). */
export function mergeResult(prev: FoundDevice | undefined, r: TDiscoveredDevice): FoundDevice {
  return {
    mac: r.mac,
    ip: r.ip,
    model: r.model || (prev?.model ?? ""),
    modelDisplay: r.modelDisplay || (prev?.modelDisplay ?? ""),
    firmware: r.firmware || (prev?.firmware ?? ""),
    hostname: r.hostname || (prev?.hostname ?? ""),
    adopted: r.adopted || (prev?.adopted ?? false),
    certSha256: r.certSha256 ?? prev?.certSha256 ?? null,
    certChanged: r.certChanged ?? prev?.certChanged ?? false,
    https: r.source === "https" || (prev?.https ?? false),
  };
}

/** Words for a scope refusal. */
export const REFUSAL_TEXT: Record<TScopeRefusal, string> = {
  not_allowed: "outside the ranges this site allows",
  loopback: "loopback address (not allowed by the site)",
  link_local: "link-local address (not allowed by the site)",
  metadata: "cloud metadata address",
  reserved: "reserved address",
  ipv6: "IPv6 is not supported yet",
  unresolvable: "the name does not resolve",
  too_many_hosts: "more than 1,024 hosts",
  malformed: "not an address, range or host name",
};

/**
 * A discovery run over the E2E session: `discovery.start` (the companion decides the scope and
 * answers the host count or the refused targets), then `discovery.results` events merged by MAC
 * as they arrive, until the last event (`done`). `cancel` asks the companion to stop the scan;
 * its final event still arrives and says `cancelled`.
 */
export function useDiscovery(open: InstanceChannel | null) {
  const [state, setState] = useState<DiscoveryState>(IDLE);
  const stream = useRef<Stream | null>(null);
  const byMac = useRef(new Map<string, FoundDevice>());

  useEffect(
    () => () => {
      stream.current?.cancel();
      stream.current = null;
    },
    [open],
  );

  const start = useCallback(
    async (body: z.input<typeof ZDiscoveryStartBodySchema>) => {
      if (!open) return;
      stream.current?.cancel();
      byMac.current = new Map();
      setState({ ...IDLE, status: "starting" });
      const onEvent = (e: TDiscoveryResultsEvent) => {
        for (const r of e.results) {
          if (!byMac.current.has(r.mac) && byMac.current.size >= MAX_DEVICES) continue;
          byMac.current.set(r.mac, mergeResult(byMac.current.get(r.mac), r));
        }
        const devices = [...byMac.current.values()];
        setState((s) => ({
          ...s,
          devices,
          stats: e.stats,
          reason: e.reason,
          status: e.done ? "done" : "running",
        }));
      };
      const onEnd = (reason: string) => {
        stream.current = null;
        setState((s) =>
          s.status === "done"
            ? s
            : { ...s, status: "failed", error: `The scan's stream ended early (${reason.replace(/_/g, " ")}).` },
        );
      };
      try {
        const started = await open.subscribe(
          "discovery.start",
          body,
          "discovery.results",
          ZDiscoveryResultsEventSchema,
          { onEvent, onEnd },
        );
        stream.current = started;
        const answer = ZDiscoveryStartResultSchema.safeParse(started.result);
        const hosts = answer.success && answer.data.status === "started" ? answer.data.hosts : null;
        setState((s) => ({ ...s, hosts, status: s.status === "starting" ? "running" : s.status }));
      } catch (error) {
        if (error instanceof StreamNotStartedError) {
          const answer = ZDiscoveryStartResultSchema.safeParse(error.result);
          if (answer.success && answer.data.status === "refused") {
            setState({ ...IDLE, status: "refused", refused: answer.data.refused });
            return;
          }
        }
        setState({ ...IDLE, status: "failed", error: errorMessage(error) });
      }
    },
    [open],
  );

  const cancel = useCallback(async () => {
    const current = stream.current;
    if (!open || !current) return;
    try {
      await open.request("discovery.cancel", { subscriptionId: current.subscriptionId });
    } catch (error) {
      setState((s) => ({ ...s, error: errorMessage(error) }));
    }
  }, [open]);

  return { state, start, cancel };
}
