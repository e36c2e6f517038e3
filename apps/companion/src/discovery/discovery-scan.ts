import dgram from "node:dgram";
import { parseUbdpReply, UBDP_PROBE_V1, UBDP_PROBE_V2, UBDP_PORT } from "@veil/devices";
import type { TDiscoveredDevice, TDiscoveryResultsEvent } from "../protocol";
import { ZMacSchema } from "../protocol";
import { fetchInfo } from "../adoption/device-admin-client";
import type { PinStore } from "../adoption/pin-store";
import { runLimited } from "../adoption/adopt-devices";
import { checkAddress, type ScopeConfig } from "./scope";

/** UBDP multicast group. */
export const UBDP_MULTICAST = "233.89.188.1";

/** Options of one scan. Hosts are already resolved and scope-checked. */
export interface ScanOptions {
  hosts: readonly string[];
  scope: ScopeConfig;
  pins: PinStore;
  durationMs: number;
  broadcast: boolean;
  https: "responders" | "all" | "off";
  maxResults: number;
  now: () => number;
  /** Whether the device side already knows the MAC as adopted (inform or device channel). */
  isAdopted?: (mac: string) => boolean;
  ubdpPort?: number;
  httpsPort?: number;
  /** Unicast probes per second (pacing), default 2,000. */
  probesPerSecond?: number;
  onResult(device: TDiscoveredDevice): void;
  signal: AbortSignal;
}

/** Counters of one scan. */
export type ScanStats = TDiscoveryResultsEvent["stats"];

const text = (s: string | undefined, max: number): string => (s ?? "").replace(/[^\x20-\x7e]/g, "").slice(0, max);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One discovery run: UBDP v1 and v2 probes to broadcast and multicast (if asked) and unicast
 * to every planned host, then an HTTPS probe (pinned TLS connect + GET /api/v1/info with a
 * short timeout) of candidate hosts. Hosts that stayed silent get one more unicast round after
 * the first (UDP replies are lost when TLS work holds the event loop). Bounded: time
 * (`durationMs`), packets (at most 4 probes per host + 4), replies (4 × maxResults datagrams
 * parsed), results (`maxResults` distinct MACs; a MAC beyond that is counted as dropped and
 * ends the run as "limit" once the HTTPS probes of the kept ones are done), HTTPS probes
 * (planned hosts only, 32 at a time). Replies from addresses outside the plan's scope are
 * dropped; a reply's claimed IP is used only if it is itself in scope.
 */
export async function runScan(
  o: ScanOptions,
): Promise<{ stats: ScanStats; reason: "timeout" | "cancelled" | "limit" }> {
  const stats: ScanStats = { probesSent: 0, repliesAccepted: 0, repliesDropped: 0, httpsProbes: 0 };
  const port = o.ubdpPort ?? UBDP_PORT;
  const planned = new Set(o.hosts);
  const seen = new Map<string, TDiscoveredDevice>();
  const responders = new Set<string>();
  const probed = new Set<string>();
  let reason: "timeout" | "cancelled" | "limit" = "timeout";
  /** A MAC beyond `maxResults` was seen: the run ends as "limit" when the rest is done. */
  let full = false;
  const local = new AbortController();
  const stop = (r: typeof reason): void => {
    if (!local.signal.aborted) {
      reason = r;
      local.abort();
    }
  };
  const onAbort = (): void => stop("cancelled");
  o.signal.addEventListener("abort", onAbort);
  if (o.signal.aborted) stop("cancelled");
  const timer = setTimeout(() => stop("timeout"), o.durationMs);
  const maxReplies = o.maxResults * 4;
  const httpsQueue: string[] = [];
  let wake: (() => void) | undefined;
  let inFlight = 0;

  const adoptedFor = (mac: string): boolean => o.pins.get(mac)?.adoptedAt !== undefined || o.isAdopted?.(mac) === true;
  const emit = (d: TDiscoveredDevice): boolean => {
    if (!seen.has(d.mac) && seen.size >= o.maxResults) {
      full = true;
      return false;
    }
    seen.set(d.mac, d);
    o.onResult(d);
    return true;
  };
  const queueHttps = (ip: string): void => {
    if (o.https === "off" || probed.has(ip) || !planned.has(ip)) return;
    probed.add(ip);
    httpsQueue.push(ip);
    wake?.();
  };

  // A large receive buffer: a /22 of devices answering at once must not overflow it (the kernel
  // caps it at net.core.rmem_max).
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 * 1024 * 1024 });
  socket.on("error", () => undefined);
  socket.on("message", (msg, rinfo) => {
    if (local.signal.aborted) return;
    if (
      stats.repliesAccepted + stats.repliesDropped >= maxReplies ||
      (!planned.has(rinfo.address) && checkAddress(o.scope, rinfo.address) !== undefined)
    ) {
      stats.repliesDropped++;
      return;
    }
    let reply;
    try {
      reply = parseUbdpReply(new Uint8Array(msg));
    } catch {
      stats.repliesDropped++;
      return;
    }
    if (reply.command === 0 && reply.tlvs.length === 0) {
      stats.repliesDropped++; // our own probe echoed back, or an empty reply
      return;
    }
    const info = reply.info;
    const mac = ZMacSchema.safeParse(info.mac ?? info.addresses?.[0]?.mac);
    if (!mac.success) {
      stats.repliesDropped++;
      return;
    }
    const claimed = info.addresses?.find((a) => a.mac === mac.data)?.ip ?? info.addresses?.[0]?.ip ?? info.ip;
    const ip = claimed !== undefined && planned.has(claimed) ? claimed : rinfo.address;
    stats.repliesAccepted++;
    if (planned.has(ip)) responders.add(ip);
    let kept = seen.has(mac.data);
    if (!seen.has(mac.data) || seen.get(mac.data)?.source === "ubdp") {
      kept = emit({
        mac: mac.data,
        ip,
        source: "ubdp",
        model: text(info.model ?? info.platform, 64),
        modelDisplay: text(info.modelType ?? info.model, 64),
        firmware: text(info.firmware ?? info.firmwareFull, 64),
        hostname: text(info.hostname, 64),
        adopted: adoptedFor(mac.data) || info.isDefault === false,
        seenAt: o.now(),
      });
    }
    if (kept && o.https === "responders" && planned.has(ip)) queueHttps(ip);
  });
  await new Promise<void>((resolve) => socket.bind(0, "0.0.0.0", () => resolve()));
  try {
    socket.setBroadcast(true);
  } catch {
    /* not allowed here: broadcast probes will fail and be counted as sent only if they go */
  }

  const send = (packet: Uint8Array, host: string): Promise<void> =>
    new Promise((resolve) => {
      if (local.signal.aborted) return resolve();
      socket.send(packet, port, host, (error) => {
        if (error === null || error === undefined) stats.probesSent++;
        resolve();
      });
    });

  const prober = (async (): Promise<void> => {
    if (o.broadcast)
      for (const dest of ["255.255.255.255", UBDP_MULTICAST])
        for (const p of [UBDP_PROBE_V1, UBDP_PROBE_V2]) await send(p, dest);
    const pps = o.probesPerSecond ?? 2000;
    const batch = Math.max(1, Math.floor(pps / 50));
    const round = async (hosts: readonly string[]): Promise<void> => {
      for (let i = 0; i < hosts.length && !local.signal.aborted; i += batch) {
        await Promise.all(hosts.slice(i, i + batch).flatMap((h) => [send(UBDP_PROBE_V1, h), send(UBDP_PROBE_V2, h)]));
        await sleep(20);
      }
    };
    await round(o.hosts);
    // One more round for the silent ones, once the answers to the first have had time to come.
    await sleep(Math.min(500, o.durationMs / 4));
    if (!full) await round(o.hosts.filter((h) => !responders.has(h)));
    if (o.https === "all") for (const h of o.hosts) queueHttps(h);
  })();

  const httpsPort = o.httpsPort ?? 443;
  const httpsWorker = async (): Promise<void> => {
    while (!local.signal.aborted) {
      const ip = httpsQueue.shift();
      if (ip === undefined) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
        continue;
      }
      stats.httpsProbes++;
      inFlight++;
      try {
        // The probe records the certificate and compares it with the pin; it sends no secret.
        const r = await fetchInfo({ ip, port: httpsPort }, undefined, Math.min(2000, o.durationMs));
        if (local.signal.aborted) return;
        const mac = ZMacSchema.safeParse(r.info.mac);
        if (!mac.success) continue;
        const pin = o.pins.get(mac.data);
        const prev = seen.get(mac.data);
        emit({
          mac: mac.data,
          ip,
          source: "https",
          model: text(r.info.model, 64) || (prev?.model ?? ""),
          modelDisplay: text(r.info.modelDisplay, 64) || (prev?.modelDisplay ?? ""),
          firmware: text(r.info.firmware, 64) || (prev?.firmware ?? ""),
          hostname: text(r.info.hostname, 64) || (prev?.hostname ?? ""),
          adopted: adoptedFor(mac.data) || r.info.adopted,
          certSha256: r.fingerprint,
          ...(pin !== undefined ? { certChanged: pin.sha256 !== r.fingerprint } : {}),
          seenAt: o.now(),
        });
      } catch {
        /* not an HTTPS device, or not answering in time */
      } finally {
        inFlight--;
      }
    }
  };
  const workers = o.https === "off" ? [] : Array.from({ length: 32 }, httpsWorker);
  await prober;
  // Let the run end early once every probe is answered and every HTTPS probe is done.
  const idle = async (): Promise<void> => {
    while (!local.signal.aborted) {
      await sleep(100);
      // Every planned host answered UBDP and every HTTPS probe finished: nothing more can come.
      const done = httpsQueue.length === 0 && inFlight === 0;
      if (done && full) stop("limit");
      else if (done && responders.size >= planned.size) stop("timeout");
    }
  };
  await Promise.race([new Promise<void>((r) => local.signal.addEventListener("abort", () => r())), idle()]);
  clearTimeout(timer);
  o.signal.removeEventListener("abort", onAbort);
  wake?.();
  socket.close();
  await runLimited(workers, 32, (w) => w);
  return { stats, reason };
}
