/**
 * Admission of sockets to a device-facing server, before TLS or HTTP sees them: each host
 * (`hostKey`: an address, so every device of an IPv6 LAN is its own) holds at most `maxPerHost`
 * places at once, and each source (`sourceKey`: an IPv4 address, an IPv6 /64) opens new sockets
 * at its bucket's rate. A socket over either is destroyed and counted under
 * `<prefix>.connections_per_source` or `<prefix>.rate_limited_ip`. One LAN host holding idle or
 * half-sent sockets therefore cannot use up the server's `maxConnections`.
 */
import type { Server, Socket } from "node:net";
import type { DropCounters } from "./drop-counters";
import { hostKey, sourceKey, type KeyedTokenBuckets } from "./token-bucket";

/** What identifies one socket while it is open. */
interface SocketAddress {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** What {@link admitSockets} returns. */
export interface SocketAdmission {
  /** Gives back the place of a socket before it closes (on the device channel: its device authenticated). */
  release(socket: SocketAddress): void;
}

const placeKey = (s: SocketAddress): string => `${s.remoteAddress ?? "?"}|${s.remotePort ?? 0}`;

/** Admits `server`'s new sockets under the per-host cap and the per-source rate of `connections`. */
export function admitSockets(
  server: Server,
  options: {
    readonly prefix: "unifi" | "veil";
    readonly maxPerHost: number;
    readonly connections: KeyedTokenBuckets;
    readonly counters: DropCounters;
  },
): SocketAdmission {
  const { prefix, maxPerHost, connections, counters } = options;
  /** Places held per host, and each open socket's place by remote address and port. */
  const held = new Map<string, number>();
  const places = new Map<string, { readonly host: string; held: boolean }>();
  const release = (key: string): void => {
    const place = places.get(key);
    if (place === undefined || !place.held) return;
    place.held = false;
    const n = (held.get(place.host) ?? 1) - 1;
    if (n <= 0) held.delete(place.host);
    else held.set(place.host, n);
  };
  server.prependListener("connection", (socket: Socket) => {
    const host = hostKey(socket.remoteAddress);
    const count = held.get(host) ?? 0;
    if (count >= maxPerHost || !connections.take(`${prefix}/${sourceKey(socket.remoteAddress)}`)) {
      counters.add(count >= maxPerHost ? `${prefix}.connections_per_source` : `${prefix}.rate_limited_ip`);
      socket.destroy();
      return;
    }
    const key = placeKey(socket);
    held.set(host, count + 1);
    places.set(key, { host, held: true });
    socket.once("close", () => {
      release(key);
      places.delete(key);
    });
  });
  return { release: (socket) => release(placeKey(socket)) };
}
