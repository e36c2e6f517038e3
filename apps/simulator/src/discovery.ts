/**
 * UBDP responder. Two modes, because 10,000 devices should not need 10,000 sockets:
 * - `per-device`: one UDP socket per device bound to its own 127.x.y.z address, so a unicast
 *   probe to a device's address is answered from that address (as real hardware does).
 * - `shared`: one socket on `host`; every probe is answered by every online device (at most
 *   `maxReplies`), each reply carrying the device's own address in TLV 0x02 — what a
 *   broadcast probe on a real LAN gets back.
 * Each socket answers at most 20 probes per second (no amplifier for spoofed sources).
 */
import dgram from "node:dgram";
import { buildUbdpReply, parseUbdpProbe } from "@veil/devices";
import type { SimContext } from "./context";
import type { SimDevice } from "./device";
import { toUbdpInfo } from "./reports";

/** How the simulator answers discovery. */
export type DiscoveryMode = "off" | "per-device" | "shared";

/** A running responder. */
export interface DiscoveryHandle {
  readonly port: number;
  readonly sockets: number;
  stop(): Promise<void>;
}

function limiter(perSecond: number): () => boolean {
  let windowStart = 0;
  let count = 0;
  return () => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      count = 0;
    }
    return ++count <= perSecond;
  };
}

function bind(socket: dgram.Socket, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off("error", reject);
      resolve(socket.address().port);
    });
  });
}

/** Starts the responder; `port` 0 picks a free port (the same one for every device address). */
export async function startDiscovery(
  ctx: SimContext,
  devices: readonly SimDevice[],
  mode: DiscoveryMode,
  port: number,
  host: string,
  maxReplies = 1024,
): Promise<DiscoveryHandle> {
  const sockets: dgram.Socket[] = [];
  let sequence = 0;
  const answer =
    (socket: dgram.Socket, targets: readonly SimDevice[], allow: () => boolean) =>
    (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      const version = parseUbdpProbe(new Uint8Array(msg));
      if (version === null || !allow()) return;
      const now = ctx.now();
      let sent = 0;
      for (const d of targets) {
        if (sent >= maxReplies) break;
        if (!d.isOnline(now)) continue;
        socket.send(buildUbdpReply(toUbdpInfo(d, now, ++sequence), version), rinfo.port, rinfo.address);
        ctx.stats.ubdpReplies++;
        sent++;
      }
    };
  let bound: number;
  // With port 0 the first device picks a free port and the others reuse it on their own
  // addresses; if another program holds that port elsewhere, start over (a few times).
  for (let attempt = 0; ; attempt++) {
    bound = port;
    try {
      if (mode === "shared") {
        const s = dgram.createSocket("udp4");
        sockets.push(s);
        bound = await bind(s, host, port);
        s.on("message", answer(s, devices, limiter(20)));
      } else if (mode === "per-device") {
        for (const d of devices) {
          const s = dgram.createSocket("udp4");
          sockets.push(s);
          bound = await bind(s, d.ip, bound);
          s.on("message", answer(s, [d], limiter(20)));
        }
      }
      break;
    } catch (err) {
      for (const s of sockets.splice(0)) s.close();
      if (port !== 0 || attempt >= 4 || (err as { code?: string }).code !== "EADDRINUSE") throw err;
    }
  }
  for (const s of sockets) s.on("error", () => undefined);
  return {
    port: bound,
    sockets: sockets.length,
    stop: () => Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}
